import type { Identity } from '@quire/contracts';
import type { IngestionLimits } from '../limits.js';

/** Which cap refused a new progress stream: the process's, the API key's or the team's. */
export type ProgressStreamCap = 'process' | 'key' | 'team';

/**
 * Progress streams open in this process, in all, by API key and by team: each polls the database
 * while it lasts, so the process caps them, and the key and team shares keep one caller (a script
 * opening a stream per document, or the same one over and over) from taking every place.
 */
export function progressStreamCaps(limits: IngestionLimits) {
  let total = 0;
  const byKey = new Map<string, number>();
  const byTeam = new Map<string, number>();
  const add = (counts: Map<string, number>, key: string, by: number) => {
    const n = (counts.get(key) ?? 0) + by;
    if (n > 0) counts.set(key, n);
    else counts.delete(key);
  };
  return {
    /**
     * Takes a place for `identity`'s new stream, or says which cap refuses it: the process's first,
     * then the key's, then the team's. `release` gives the place back, once however often it is called.
     */
    open(identity: Identity): { refused: ProgressStreamCap; open: number } | { release: () => void } {
      const key = byKey.get(identity.key_id) ?? 0;
      const team = byTeam.get(identity.team_id) ?? 0;
      if (total >= limits.eventsMaxStreams) return { refused: 'process', open: total };
      if (key >= limits.eventsMaxStreamsPerKey) return { refused: 'key', open: key };
      if (team >= limits.eventsMaxStreamsPerTeam) return { refused: 'team', open: team };
      total++;
      add(byKey, identity.key_id, 1);
      add(byTeam, identity.team_id, 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          total--;
          add(byKey, identity.key_id, -1);
          add(byTeam, identity.team_id, -1);
        },
      };
    },
  };
}
