import assert from 'node:assert/strict';
import { it } from 'node:test';
import { signature } from '../../sandbox/ses/sigv4';

it("the sandbox's SigV4 matches AWS's published test vector (aws-sig-v4-test-suite, get-vanilla)", () => {
  const sig = signature(
    { method: 'GET', path: '/', headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' }, body: '' },
    ['host', 'x-amz-date'],
    'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    '20150830T123600Z',
    '20150830/us-east-1/service/aws4_request',
  );
  assert.equal(sig, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
});
