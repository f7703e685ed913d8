import type { PropletView } from '../../services/proplet-service.ts';

/**
 * The proplet described in the Semantic Definition Format (SDF, IETF ASDF): what it exposes (properties),
 * what the manager can ask of it (actions) and what it reports (events), with the payload of each as the
 * wire contract has it (spec §3.3.2–3.3.6). Only the title names the proplet; the rest describes every
 * proplet alike, as upstream's does.
 */
export function propletSdf(proplet: Pick<PropletView, 'id' | 'name'>): Record<string, unknown> {
  return {
    info: {
      title: `Propeller Proplet: ${proplet.name} (${proplet.id})`,
      version: '1.0',
      license: 'Apache-2.0',
    },
    namespace: { propeller: 'https://github.com/absmach/propeller' },
    defaultNamespace: 'propeller',
    sdfThing: {
      Proplet: {
        description:
          'An edge worker that runs WebAssembly tasks for the Propeller manager and reports on them over MQTT',
        sdfProperty: PROPERTIES,
        sdfAction: ACTIONS,
        sdfEvent: EVENTS,
        sdfData: DATA,
      },
    },
  };
}

const ref = (name: keyof typeof DATA) => ({ sdfRef: `#/sdfThing/Proplet/sdfData/${name}` });

const text = (description: string) => ({ type: 'string', description });

const PROPERTIES = {
  id: { ...text('MQTT client and entity id of the proplet'), readable: true, writable: false },
  name: { ...text('Name the manager gave the proplet when it registered'), readable: true, writable: false },
  alive: {
    type: 'boolean',
    description: 'Whether its last heartbeat is recent enough for the manager to dispatch to it',
    readable: true,
    writable: false,
  },
  task_count: {
    type: 'integer',
    minimum: 0,
    description: 'Tasks the proplet holds now',
    readable: true,
    writable: false,
  },
  metadata: {
    description: 'What the proplet announced about itself at discovery',
    readable: true,
    writable: false,
    sdfRef: '#/sdfThing/Proplet/sdfData/PropletMetadata',
  },
};

const ACTIONS = {
  start_task: {
    description:
      'Run a task: published on m/{tenant}/c/{channel}/control/manager/start; the proplet answers with a task_result',
    sdfInputData: ref('TaskDispatch'),
  },
  stop_task: {
    description: 'Abort a running task: published on m/{tenant}/c/{channel}/control/manager/stop',
    sdfInputData: ref('TaskStop'),
  },
};

const EVENTS = {
  heartbeat: {
    description:
      'Sent on m/{tenant}/c/{channel}/control/proplet/alive at every liveliness interval; status offline is its last will',
    sdfOutputData: ref('HeartbeatPayload'),
  },
  task_result: {
    description: 'Sent on m/{tenant}/c/{channel}/control/proplet/results once per run',
    sdfOutputData: ref('TaskResult'),
  },
};

const stringList = (description: string) => ({ type: 'array', items: { type: 'string' }, description });

const DATA = {
  PropletMetadata: {
    type: 'object',
    description: 'Metadata of a discovery message (control/proplet/create); each field may be absent',
    properties: {
      description: text('Free text'),
      tags: stringList('Labels'),
      location: text('Where the proplet runs'),
      ip: text('Its address'),
      environment: { type: 'string', enum: ['docker', 'binary', ''], description: 'How it was deployed' },
      os: text('Operating system'),
      hostname: text('Host name'),
      cpu_arch: text('CPU architecture, such as x86_64'),
      total_memory_bytes: { type: 'integer', minimum: 0, unit: 'By', description: 'Memory of its host' },
      proplet_version: text('Version of the proplet'),
      wasm_runtime: text('WebAssembly runtime, such as wasmtime'),
    },
  },
  TaskDispatch: {
    type: 'object',
    description: 'A start command; the proplet runs it when proplet_id is its own or absent',
    required: ['id', 'name'],
    properties: {
      id: text('Task id (UUID)'),
      name: text('Task name; for a core module, the export to call'),
      state: { type: 'integer', minimum: 0, maximum: 6, description: 'Task state when sent' },
      image_url: text('Where to fetch the Wasm from, when it is not inline'),
      file: { type: 'string', contentFormat: 'base64', description: 'The Wasm module, inline' },
      inputs: stringList('Arguments of the exported function'),
      cli_args: stringList('Command-line arguments of a WASI command'),
      env: { type: 'object', description: 'Environment variables of the run (string values)' },
      daemon: { type: 'boolean', description: 'Keeps running until stopped' },
      latent: { type: 'boolean', description: 'Deploy without running; run on invoke' },
      broadcast: { type: 'boolean', description: 'Meant for every proplet' },
      encrypted: { type: 'boolean', description: 'image_url points to an encrypted module' },
      kbs_resource_path: text('Key broker resource that decrypts it'),
      monitoring_profile: {
        type: 'object',
        description: 'Sampling of task metrics: all ten fields or none, interval in seconds',
      },
      proplet_id: text('The proplet that is to run it'),
      hal_storage_path: text('Storage path offered to the module'),
    },
  },
  TaskStop: {
    type: 'object',
    description: 'A stop command; the run ends with the error "Task was cancelled or panicked"',
    required: ['id'],
    properties: {
      id: text('Task id'),
      proplet_id: text('The proplet holding it'),
      broadcast: { type: 'boolean', description: 'Meant for every proplet' },
    },
  },
  HeartbeatPayload: {
    type: 'object',
    required: ['proplet_id'],
    properties: {
      proplet_id: text('The proplet beating'),
      status: { type: 'string', enum: ['alive', 'offline'], description: 'offline in the last will' },
      namespace: text('Its namespace, such as default'),
    },
  },
  TaskResult: {
    type: 'object',
    description: 'The outcome of one run; a non-empty error means it failed',
    required: ['task_id'],
    properties: {
      task_id: text('Task id'),
      proplet_id: text('The proplet that ran it'),
      results: { description: 'What the run produced: the first return value as text, or standard output' },
      error: { type: 'string', nullable: true, description: 'Why the run failed, or null' },
    },
  },
};
