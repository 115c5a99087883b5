import type { LevelRegistry } from './registry';
import type { LevelRule } from './rules';
import type { EffectiveLevels } from '@distlog/proto';

/** How a control stream ended: worth retrying soon, refused (credentials), or not offered at all. */
export type CloseKind = 'transient' | 'refused' | 'unsupported';

export interface ControlEvents {
  /** The collector accepted the subscription. */
  opened(): void;
  /** The rules that apply to this process: on subscribing, then on every change. */
  rules(rules: LevelRule[]): void;
  /** The stream ended or could not be opened; called once per open(). */
  closed(reason: string, kind: CloseKind): void;
}

/** One way to the collector's level control: the SSE stream (HTTP) or LevelControl/Subscribe (gRPC). */
export interface ControlChannel {
  /** `grpc` or `http`, and where: for messages and status. */
  readonly protocol: 'grpc' | 'http';
  readonly endpoint: string;
  /** Opens a subscription; returns what closes it. Never throws. */
  open(events: ControlEvents): () => void;
  /** Sends this process's effective levels (best effort). */
  report(levels: EffectiveLevels): void;
  /** Releases the connection for good. */
  close(): void;
}

/** What `getDistlog().levelControl()` tells: where the SDK subscribes and whether it is connected. */
export interface LevelControlStatus {
  protocol: 'grpc' | 'http';
  endpoint: string;
  connected: boolean;
  /** Why not, while not connected. */
  reason?: string;
}

/**
 * Follows the collector's level rules for this process over a control channel,
 * reconnecting with backoff, and reports the effective levels back. While it is not
 * connected, the loggers are at their local levels. When it cannot subscribe it says
 * so on stderr — once for each kind of trouble, naming the endpoint and the reason — and
 * once more when it gets through. Its connections never keep a process alive.
 */
export class LevelSubscriber {
  private closeStream: (() => void) | undefined;
  private retryMs = INITIAL_RETRY_MS;
  private stopped = false;
  private connected = false;
  private reason: string | undefined = 'connecting';
  private reportTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly said = new Set<CloseKind>();

  constructor(
    private readonly channel: ControlChannel,
    private readonly service: string,
    private readonly registry: LevelRegistry,
    private readonly say: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.closeStream?.();
    this.channel.close();
    if (this.reportTimer) clearTimeout(this.reportTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
  }

  status(): LevelControlStatus {
    return {
      protocol: this.channel.protocol,
      endpoint: this.channel.endpoint,
      connected: this.connected,
      ...(this.connected ? {} : { reason: this.reason }),
    };
  }

  /** Sends the effective levels soon (debounced). */
  scheduleReport(): void {
    if (this.reportTimer || this.stopped) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      if (this.connected) this.channel.report(this.registry.effectiveLevels());
    }, 200);
    this.reportTimer.unref();
  }

  private connect(): void {
    if (this.stopped) return;
    let open = true;
    this.closeStream = this.channel.open({
      opened: () => {
        if (!open || this.stopped) return;
        this.connected = true;
        this.reason = undefined;
        this.retryMs = INITIAL_RETRY_MS;
        if (this.said.size > 0) {
          this.say(`distlog: level control connected to ${this.where()}`);
          this.said.clear();
        }
        this.scheduleReport();
      },
      rules: (rules) => {
        if (!open || this.stopped) return;
        this.registry.setRules(rules);
        this.scheduleReport();
      },
      closed: (reason, kind) => {
        if (!open) return;
        open = false;
        this.disconnected(reason, kind);
      },
    });
  }

  private where(): string {
    return `${this.channel.endpoint} (${this.channel.protocol === 'grpc' ? 'gRPC' : 'HTTP'})`;
  }

  private disconnected(reason: string, kind: CloseKind): void {
    this.connected = false;
    this.reason = reason;
    if (this.stopped || this.reconnectTimer) return;
    this.registry.setRules([]);
    if (!this.said.has(kind)) {
      this.said.add(kind);
      this.say(
        kind === 'refused'
          ? `distlog: the collector at ${this.where()} refused level control for service "${this.service}" (${reason}); run-time levels are off until it accepts this process's credentials`
          : kind === 'unsupported'
            ? `distlog: ${this.where()} does not offer Distlog level control (${reason}); run-time levels are off (set DISTLOG_CONTROL_ENDPOINT to a Distlog collector's HTTP address, or DISTLOG_LEVELS=off)`
            : `distlog: level control cannot subscribe at ${this.where()} (${reason}); local levels in force, retrying with backoff`,
      );
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, this.retryMs);
    this.reconnectTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, kind === 'transient' ? MAX_RETRY_MS : MAX_RETRY_MS * 3);
  }
}

const INITIAL_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;
