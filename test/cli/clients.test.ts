import { MAX_ATTEMPTS, sdkClients } from '../../cli/clients';
import { withCredentials } from './fakes';

describe('sdkClients', () => {
  test('makes the clients of a region once, and those of each region for that region', async () => {
    const clients = sdkClients({ credentials: withCredentials });

    expect(clients('us-east-1')).toBe(clients('us-east-1'));
    expect(clients('us-west-2')).not.toBe(clients('us-east-1'));
    expect(await clients('us-west-2').cloudformation.config.region()).toBe('us-west-2');
  });

  test('every client retries in standard mode with MAX_ATTEMPTS attempts, except Lambda (rejoin waits, once)', async () => {
    const { lambda, ...others } = sdkClients({ credentials: withCredentials })('eu-west-1');

    for (const client of Object.values(others)) {
      expect(await client.config.retryStrategy()).toMatchObject({ mode: 'standard' });
      expect(await client.config.maxAttempts()).toBe(MAX_ATTEMPTS);
    }
    expect(await lambda.config.maxAttempts()).toBe(1);
  });
});
