import { DEFAULT_ENVIRONMENT, ENVIRONMENTS } from './environments';
import { EnvironmentConfig } from './types';
import { ConfigError, validateEnvironmentConfig } from './validate';

export * from './types';
export * from './validate';
export * from './routing';
export { DEFAULT_ENVIRONMENT, ENVIRONMENTS } from './environments';

/**
 * Returns the validated config of the named environment (the default one when
 * `name` is undefined). Throws a `ConfigError` naming the problem otherwise.
 */
export function loadEnvironmentConfig(
  name: string | undefined,
  environments: Readonly<Record<string, EnvironmentConfig>> = ENVIRONMENTS,
): EnvironmentConfig {
  const envName = name ?? DEFAULT_ENVIRONMENT;
  const config = Object.prototype.hasOwnProperty.call(environments, envName) ? environments[envName] : undefined;
  if (!config) {
    throw new ConfigError(envName, [
      `env "${envName}" is not a known environment; pass -c env=<name> with one of: ${Object.keys(environments).join(', ')}, ` +
        'or add yours to lib/config/environments.ts.',
    ]);
  }
  if (config.name !== envName) {
    throw new ConfigError(envName, [
      `name "${config.name}" differs from its key "${envName}" in ENVIRONMENTS; make them equal.`,
    ]);
  }
  validateEnvironmentConfig(config);
  return config;
}
export * from './services';
