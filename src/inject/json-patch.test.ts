import { describe, expect, it } from 'vitest';
import { diffList, diffMap, escapePointer } from './json-patch.js';

describe('escapePointer', () => {
  it('escapes ~ before /', () => {
    expect(escapePointer('a/b~c')).toBe('a~1b~0c');
    expect(escapePointer('~1')).toBe('~01');
  });
});

describe('diffList', () => {
  const a = { name: 'a' };
  const b = { name: 'b' };
  const x = { name: 'x' };
  const y = { name: 'y' };

  it('adds a missing array whole', () => {
    expect(diffList('/l', undefined, [x])).toEqual([{ op: 'add', path: '/l', value: [x] }]);
    expect(diffList('/l', undefined, [])).toEqual([]);
  });

  it('inserts at the front, appends with "-"', () => {
    expect(diffList('/l', [a, b], [x, a, b, y])).toEqual([
      { op: 'add', path: '/l/0', value: x },
      { op: 'add', path: '/l/-', value: y },
    ]);
  });

  it('removes from the highest index down, then inserts', () => {
    const z = { name: 'z' };
    expect(diffList('/l', [x, a, y, b], [a, z, b])).toEqual([
      { op: 'remove', path: '/l/2' },
      { op: 'remove', path: '/l/0' },
      { op: 'add', path: '/l/1', value: z },
    ]);
  });
});

describe('diffMap', () => {
  it('adds a missing map whole, else key by key with escaping', () => {
    expect(diffMap('/m', undefined, { k: 'v' })).toEqual([{ op: 'add', path: '/m', value: { k: 'v' } }]);
    expect(diffMap('/m', { 'a/b': '1', keep: 'x' }, { 'a/b': '2', keep: 'x', '~n': 'y' })).toEqual([
      { op: 'add', path: '/m/a~1b', value: '2' },
      { op: 'add', path: '/m/~0n', value: 'y' },
    ]);
    expect(diffMap('/m', { gone: '1' }, {})).toEqual([{ op: 'remove', path: '/m/gone' }]);
  });
});
