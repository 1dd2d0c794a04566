import type { GatewayModels } from '@quire/gateway-client';

/**
 * Holds embedding calls whose texts contain a marker until released: `entered` resolves at the first
 * such call. Restores the models' own `embeddingModel` with `restore`.
 */
export function gateEmbeddings(models: GatewayModels, markers: string[]) {
  const original = models.embeddingModel.bind(models);
  const gates = new Map(
    markers.map((m) => {
      let release!: () => void;
      let entered!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const reached = new Promise<void>((resolve) => (entered = resolve));
      return [m, { release, released, entered, reached }] as const;
    }),
  );
  models.embeddingModel = (name, context) => {
    const model = original(name, context);
    return {
      ...model,
      async doEmbed(options) {
        const gate = [...gates].find(([m]) => options.values.some((v) => v.includes(m)))?.[1];
        if (gate) {
          gate.entered();
          await gate.released;
        }
        return model.doEmbed(options);
      },
    };
  };
  return {
    reached: (m: string) => gates.get(m)!.reached,
    release: (m: string) => gates.get(m)!.release(),
    restore: () => {
      for (const g of gates.values()) g.release();
      models.embeddingModel = original;
    },
  };
}
