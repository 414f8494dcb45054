/**
 * The seed's init-container arguments (bookinfo productpage behind Envoy): REDIRECT, outbound to
 * 15001, inbound 9080 to 15006, the proxy's status and metrics ports left alone. The reference
 * reading of their rules is docs/iptables-dry-run.txt.
 */
export const SEED_ARGS: readonly string[] = [
  '-p',
  '15001',
  '-z',
  '15006',
  '-u',
  '1337',
  '-m',
  'REDIRECT',
  '-i',
  '*',
  '-x',
  '',
  '-b',
  '9080',
  '-d',
  '15020,15021,15090',
];
