import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, trace, TraceFlags, SpanKind } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { isQuietRoot, QuietSampler } from '../../src/observability/quiet-sampler.ts';
import { redisStatement } from '../../src/observability/redis-statement.ts';
import { isUntracedRequest } from '../../src/observability/tracing-sdk.ts';

const load = (env: Record<string, string>) => loadConfig(env, '/nonexistent');

describe('tracing configuration', () => {
  it('is off while MANAGER_OTEL_URL is unset or empty', () => {
    assert.equal(load({}).tracing, undefined);
    assert.equal(load({ MANAGER_OTEL_URL: '', MANAGER_TRACE_RATIO: '0.5' }).tracing, undefined);
  });

  it('takes a base URL and sends to its /v1/traces, sampling every trace by default', () => {
    assert.deepEqual(load({ MANAGER_OTEL_URL: 'http://jaeger:4318' }).tracing, {
      tracesUrl: 'http://jaeger:4318/v1/traces',
      ratio: 1,
    });
    assert.equal(
      load({ MANAGER_OTEL_URL: 'https://otel.example/' }).tracing?.tracesUrl,
      'https://otel.example/v1/traces',
    );
  });

  it('takes a URL with a path as the traces endpoint itself', () => {
    const { tracing: settings } = load({
      MANAGER_OTEL_URL: 'http://collector:4318/v1/traces',
      MANAGER_TRACE_RATIO: '0.25',
    });
    assert.deepEqual(settings, { tracesUrl: 'http://collector:4318/v1/traces', ratio: 0.25 });
    assert.equal(
      load({ MANAGER_OTEL_URL: 'http://c:4318/otlp/v1/traces' }).tracing?.tracesUrl,
      'http://c:4318/otlp/v1/traces',
    );
  });

  for (const [variable, value] of [
    ['MANAGER_OTEL_URL', 'jaeger:4318'],
    ['MANAGER_OTEL_URL', 'grpc://jaeger:4317'],
    ['MANAGER_OTEL_URL', 'http://'],
    ['MANAGER_TRACE_RATIO', '1.5'],
    ['MANAGER_TRACE_RATIO', '-0.1'],
    ['MANAGER_TRACE_RATIO', 'half'],
  ] as const) {
    it(`refuses ${variable}=${value}, naming the variable`, () => {
      assert.throws(
        () => load({ MANAGER_OTEL_URL: 'http://jaeger:4318', [variable]: value }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(variable),
      );
    });
  }

  it('reads 0 and 1 as ratios', () => {
    assert.equal(load({ MANAGER_OTEL_URL: 'http://j:4318', MANAGER_TRACE_RATIO: '0' }).tracing?.ratio, 0);
    assert.equal(load({ MANAGER_OTEL_URL: 'http://j:4318', MANAGER_TRACE_RATIO: '1' }).tracing?.ratio, 1);
  });
});

describe('what spans show of Redis commands', () => {
  it('keeps a script call to its keys, never its arguments (a job data)', () => {
    const statement = redisStatement('evalsha', [
      'sha1',
      '2',
      '{p}:task-invoke:wait',
      '{p}:task-invoke:meta',
      '{"env":{"TOKEN":"secret"}}',
      'more',
    ]);
    assert.equal(statement, 'evalsha sha1 2 {p}:task-invoke:wait {p}:task-invoke:meta [2 other arguments]');
  });

  it('shows an inline script by its place only', () => {
    assert.equal(
      redisStatement('eval', ['return 1', '1', 'k', 'v']),
      'eval [script] 1 k [1 other arguments]',
    );
  });

  it('keeps other commands to their key', () => {
    assert.equal(
      redisStatement('hset', ['{p}:mailbox:x', 'field', 'results']),
      'hset {p}:mailbox:x [2 other arguments]',
    );
    assert.equal(redisStatement('ping', []), 'ping');
    assert.equal(redisStatement('get', [Buffer.from('k')]), 'get ?');
  });
});

describe('which traces are not kept', () => {
  it('names heartbeat and metrics batches and BullMQ upkeep, not task work', () => {
    for (const name of [
      'add proplet-liveness.heartbeats',
      'add metrics.samples',
      'moveStalledJobsToWait task-start',
      'startStalledCheckTimer task-results',
      'extendLocks proplet-liveness',
    ])
      assert.equal(isQuietRoot(name), true, name);
    for (const name of [
      'add task-start.start',
      'process task-start',
      'add proplet-liveness.sweep',
      'POST /tasks',
    ])
      assert.equal(isQuietRoot(name), false, name);
  });

  it('drops a quiet root, and lets a quiet name inside a trace follow its parent', () => {
    const sampler = new QuietSampler(
      new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(1) }),
    );
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const decide = (context: typeof ROOT_CONTEXT, name: string) =>
      sampler.shouldSample(context, traceId, name, SpanKind.PRODUCER, {}, []).decision;
    assert.equal(
      decide(ROOT_CONTEXT, 'add proplet-liveness.heartbeats'),
      tracing.SamplingDecision.NOT_RECORD,
    );
    assert.equal(decide(ROOT_CONTEXT, 'add task-start.start'), tracing.SamplingDecision.RECORD_AND_SAMPLED);
    const inTrace = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    assert.equal(decide(inTrace, 'extendLocks task-start'), tracing.SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('leaves out requests of probes, scrapers, Bull Board and the event stream', () => {
    for (const url of ['/health', '/health?full=1', '/metrics', '/admin/queues/api/queues', '/events'])
      assert.equal(isUntracedRequest(url), true, url);
    for (const url of ['/tasks', '/tasks/1/start', '/healthy', '/eventsource'])
      assert.equal(isUntracedRequest(url), false, url);
  });
});
