import { answerLinkHostsSchema } from './link-hosts-env.js';

test('QUIRE_ANSWER_LINK_HOSTS: comma-separated host names, normalised; anything else is refused with the culprits named', () => {
  expect(answerLinkHostsSchema.parse(undefined)).toBeUndefined();
  expect(answerLinkHostsSchema.parse(' ')).toBeUndefined();
  expect(answerLinkHostsSchema.parse('Intranet.Example.com, tickets.example.com.')).toEqual(['intranet.example.com', 'tickets.example.com']);
  const bad = answerLinkHostsSchema.safeParse('https://wiki.example.com/x,ok.example.com');
  expect(bad.success).toBe(false);
  expect(bad.error!.issues[0]!.message).toContain('https://wiki.example.com/x');
});
