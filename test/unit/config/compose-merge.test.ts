import { describe, expect, it } from 'vitest';
import { mergeComposeTrees, mergeService, RESET, withoutMergeTags } from '../../../src/core/config/compose-merge.js';

// The rules of the compose-spec's "Merge and override" section, one case each.
describe('mergeService, as Compose merges', () => {
  it.each([
    ['a scalar: the later wins', { image: 'a' }, { image: 'b' }, { image: 'b' }],
    ['command is replaced', { command: ['a', 'b'] }, { command: ['c'] }, { command: ['c'] }],
    ['entrypoint is replaced', { entrypoint: 'a b' }, { entrypoint: ['c'] }, { entrypoint: ['c'] }],
    ['healthcheck.test is replaced, the rest merged', { healthcheck: { test: ['CMD', 'a'], interval: '5s' } }, { healthcheck: { test: ['CMD', 'b'] } }, { healthcheck: { test: ['CMD', 'b'], interval: '5s' } }],
    ['environment merges across list and mapping forms', { environment: ['A=1', 'B=1'] }, { environment: { B: '2' } }, { environment: { A: '1', B: '2' } }],
    ['labels likewise', { labels: { a: '1' } }, { labels: ['b=2'] }, { labels: { a: '1', b: '2' } }],
    ['extra_hosts, host:ip and host=ip', { extra_hosts: ['db:10.0.0.1'] }, { extra_hosts: ['db=10.0.0.2', 'cache:10.0.0.3'] }, { extra_hosts: { db: '10.0.0.2', cache: '10.0.0.3' } }],
    ['depends_on, list and mapping', { depends_on: ['a'] }, { depends_on: { b: { condition: 'service_healthy' } } }, { depends_on: { a: { condition: 'service_started' }, b: { condition: 'service_healthy' } } }],
    ['volumes merge by target', { volumes: ['./a:/data', './l:/logs'] }, { volumes: [{ type: 'bind', source: './b', target: '/data' }] }, { volumes: [{ type: 'bind', source: './b', target: '/data' }, './l:/logs'] }],
    ['ports merge by value', { ports: ['80:80', '443:443'] }, { ports: ['80:80', '8080:8080'] }, { ports: ['80:80', '443:443', '8080:8080'] }],
    ['secrets merge by target', { secrets: ['a', { source: 'b', target: 't' }] }, { secrets: [{ source: 'c', target: 't' }] }, { secrets: ['a', { source: 'c', target: 't' }] }],
    ['other lists append, without repeats', { cap_add: ['A', 'B'] }, { cap_add: ['B', 'C'] }, { cap_add: ['A', 'B', 'C'] }],
    ['mappings merge deeply', { deploy: { resources: { limits: { cpus: '1' } } } }, { deploy: { resources: { limits: { memory: '1g' } } } }, { deploy: { resources: { limits: { cpus: '1', memory: '1g' } } } }],
    ['!reset removes', { ports: ['80:80'], image: 'a' }, { ports: RESET }, { image: 'a' }],
  ])('%s', (_rule, base, override, expected) => {
    expect(withoutMergeTags(mergeService(base, override))).toEqual(expected);
  });
});

describe('mergeComposeTrees', () => {
  it('merges services by name, top-level sections by entry, and takes the later name', () => {
    const merged = mergeComposeTrees(
      { name: 'a', services: { w: { image: 'x' }, db: { image: 'pg' } }, secrets: { s: { file: './a' } } },
      { name: 'b', services: { w: { init: true }, cache: { image: 'redis' } }, secrets: { t: { file: './t' } } },
    );
    expect(merged).toEqual({
      name: 'b',
      services: { w: { image: 'x', init: true }, db: { image: 'pg' }, cache: { image: 'redis' } },
      secrets: { s: { file: './a' }, t: { file: './t' } },
    });
  });

  it('drops a service a later file resets', () => {
    expect(mergeComposeTrees({ services: { w: { image: 'x' }, db: { image: 'pg' } } }, { services: { db: RESET } })).toEqual({ services: { w: { image: 'x' } } });
  });
});
