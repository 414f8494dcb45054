import { describe, expect, it } from 'vitest';
import { pageQuery, stripManagedFields } from './informer.js';

describe('pageQuery', () => {
  it('asks the first page of a first list for a quorum read, with the selectors', () => {
    expect(pageQuery({ limit: 500, labelSelector: 'a=b' })).toEqual({
      limit: 500,
      labelSelector: 'a=b',
      fieldSelector: undefined,
    });
  });

  it('asks a relist for a state not older than the last one seen (the watch cache serves it)', () => {
    expect(pageQuery({ limit: 500, notOlderThan: '42', fieldSelector: 'metadata.name=x' })).toEqual({
      limit: 500,
      resourceVersion: '42',
      resourceVersionMatch: 'NotOlderThan',
      labelSelector: undefined,
      fieldSelector: 'metadata.name=x',
    });
  });

  it('continues with the token and the same selectors, never a resourceVersion', () => {
    const q = pageQuery({ limit: 10, continueToken: 'tok', notOlderThan: '42', labelSelector: 'a=b' });
    expect(q).toEqual({ limit: 10, continue: 'tok', labelSelector: 'a=b', fieldSelector: undefined });
    expect(q).not.toHaveProperty('resourceVersion');
    expect(q).not.toHaveProperty('resourceVersionMatch');
  });
});

describe('stripManagedFields', () => {
  it('drops managedFields and keeps the rest of the object', () => {
    const obj = {
      metadata: { name: 'p', labels: { a: 'b' }, managedFields: [{ manager: 'kubectl' }] },
      spec: { x: 1 },
    };
    expect(stripManagedFields(obj)).toEqual({ metadata: { name: 'p', labels: { a: 'b' } }, spec: { x: 1 } });
  });

  it('leaves an object without metadata alone', () => {
    expect(stripManagedFields({ kind: 'Status' })).toEqual({ kind: 'Status' });
  });
});
