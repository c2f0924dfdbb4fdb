import { CloudFormationError, StackNotFoundError, describeStackOutputs, requireOutput } from '../../cli/cloudformation';
import { childPath, childText, parseXml } from '../../cli/xml';
import { describeStacksXml, errorXml, fakeFetch, withCredentials } from './fakes';

describe('describeStackOutputs', () => {
  test('sends a signed, form-encoded DescribeStacks and returns the outputs', async () => {
    const f = fakeFetch(() => ({ body: describeStacksXml('HaWeb-demo-App-us-east-1', { HealthCheckId: 'hc-1' }) }));

    const stack = await describeStackOutputs('HaWeb-demo-App-us-east-1', 'us-east-1', {
      credentials: withCredentials,
      fetch: f.fetch,
    });

    expect(stack).toEqual({
      stackName: 'HaWeb-demo-App-us-east-1',
      status: 'UPDATE_COMPLETE',
      outputs: { HealthCheckId: 'hc-1' },
    });
    const req = f.requests[0];
    expect(req.url).toBe('https://cloudformation.us-east-1.amazonaws.com/');
    expect(req.body).toBe('Action=DescribeStacks&Version=2010-05-15&StackName=HaWeb-demo-App-us-east-1');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(req.headers.authorization).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/cloudformation\/aws4_request/);
  });

  test('a missing stack says to deploy first', async () => {
    const f = fakeFetch(() => ({
      status: 400,
      body: errorXml('ValidationError', 'Stack with id HaWeb-demo-App-us-west-2 does not exist'),
    }));

    const err = await describeStackOutputs('HaWeb-demo-App-us-west-2', 'us-west-2', {
      credentials: withCredentials,
      fetch: f.fetch,
    }).catch((e) => e);

    expect(err).toBeInstanceOf(StackNotFoundError);
    expect(err.message).toBe(
      'stack HaWeb-demo-App-us-west-2 does not exist in us-west-2; run `cdk deploy` for this environment first',
    );
  });

  test('other errors keep their code and message', async () => {
    const f = fakeFetch(() => ({ status: 403, body: errorXml('AccessDenied', 'not authorized &amp; denied') }));

    const err = await describeStackOutputs('S', 'us-east-1', { credentials: withCredentials, fetch: f.fetch }).catch(
      (e) => e,
    );

    expect(err).toBeInstanceOf(CloudFormationError);
    expect(err.message).toBe('DescribeStacks failed: AccessDenied: not authorized & denied');
  });

  test('requireOutput names the stack, the output and the fix', () => {
    const stack = { stackName: 'HaWeb-demo-Storage-us-east-1', status: 'CREATE_COMPLETE', outputs: {} };
    expect(() => requireOutput(stack, 'FileSystemId', 'us-east-1')).toThrow(
      'stack HaWeb-demo-Storage-us-east-1 in us-east-1 has no output FileSystemId; run `cdk deploy` for this environment first',
    );
  });
});

describe('parseXml', () => {
  test('decodes entities and CDATA and skips comments and attributes', () => {
    const doc = parseXml(
      '<?xml version="1.0"?><a x="1"><!-- c --><b>1 &lt; 2 &#x41;&#66;</b><c><![CDATA[<raw>]]></c><d/></a>',
    );
    expect(childText(doc.children[0], 'b')).toBe('1 < 2 AB');
    expect(childText(doc.children[0], 'c')).toBe('<raw>');
    expect(childPath(doc, 'a', 'd')).toEqual({ name: 'd', children: [], text: '' });
  });

  test('rejects unbalanced documents', () => {
    expect(() => parseXml('<a><b></a>')).toThrow('Malformed XML: unexpected </a>');
    expect(() => parseXml('<a><b></b>')).toThrow('Malformed XML: <a> is not closed');
  });
});
