import { DATA_COMPONENTS, DataComponent, EnvironmentConfig, ServiceDefinition } from './types';

/**
 * The data components an environment creates: those at least one of its services uses, in
 * {@link DATA_COMPONENTS} order. A component no service uses is not created, and nothing watches or switches
 * it (alarms, dashboard, fault injection, Region switch steps, CLI status).
 */
export function dataComponents(config: Pick<EnvironmentConfig, 'services'>): readonly DataComponent[] {
  return DATA_COMPONENTS.filter((c) => config.services.some((s) => s.uses.includes(c)));
}

/** Whether the environment creates `component` (some service uses it). */
export function hasDataComponent(config: Pick<EnvironmentConfig, 'services'>, component: DataComponent): boolean {
  return config.services.some((s) => s.uses.includes(component));
}

/** Whether `service` uses `component`. */
export function serviceUses(service: ServiceDefinition, component: DataComponent): boolean {
  return service.uses.includes(component);
}
