/**
 * The TypeScript SDK of the Propeller Manager's HTTP API: `import { PropellerClient } from
 * 'propeller-manager/sdk'`. The README's SDK section shows a task run end to end.
 */
export { PropellerClient, type CallOptions, type PropellerClientOptions, type WasmFile } from './client.ts';
export {
  PropellerConnectionError,
  PropellerError,
  WaitForTimeoutError,
  type ConnectionFailure,
} from './errors.ts';
export { followEvents, type EventStreamOptions } from './events.ts';
export { SDK_OPERATIONS, type SdkOperationId } from './sdk-operations.ts';
export { DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS, type FetchLike, type TransportOptions } from './transport.ts';
export type * from './types.ts';
export { waitFor, type WaitForOptions, type WaitForSource } from './wait-for.ts';
export { isTerminal, stateName, TaskState, TERMINAL_STATES } from '../domain/task-state.ts';
