import { postAlert, webhookUrlProblem } from './alert-webhook.js';

test('alert webhooks may be internal services, never the metadata service or link-local addresses', () => {
  for (const ok of ['https://hooks.example.com/quire', 'http://10.0.0.5:8080/alerts', 'http://127.0.0.1:9/hook', 'http://alerts.internal/x?token=t']) {
    expect([ok, webhookUrlProblem(ok)]).toEqual([ok, undefined]);
  }
  for (const [bad, why] of [
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/latest', 'metadata'],
    ['http://169.254.10.1/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['ftp://hooks.example.com/', 'only http and https'],
    ['http://user:pass@hooks.example.com/', 'credentials'],
    ['not a url', 'not a URL'],
  ] as const) {
    expect([bad, webhookUrlProblem(bad)]).toEqual([bad, expect.stringContaining(why)]);
  }
});

test('a post to a refused address is not sent', async () => {
  await expect(postAlert('http://169.254.169.254/latest/meta-data/', { type: 'budget.soft_threshold' })).rejects.toThrow(/metadata/);
});

test('a webhook that redirects (to the metadata service, say) is not followed', async () => {
  const http = await import('node:http');
  const server = http.createServer((_req, res) => {
    res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    await expect(postAlert(`http://127.0.0.1:${port}/hook`, { type: 'budget.soft_threshold' })).rejects.toThrow();
  } finally {
    server.close();
  }
});
