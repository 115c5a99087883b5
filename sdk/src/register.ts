// `node -r @distlog/sdk/register app.js`: Distlog with no code change — init() from
// OTEL_* variables, pino lines get trace context, console is captured when
// DISTLOG_CAPTURE_CONSOLE=1, the debug package's output when DISTLOG_CAPTURE_DEBUG=1.
import { initAs } from './init';
import { captureConsole } from './console';
import { captureDebug } from './debug';

initAs('-r/--import @distlog/sdk/register');
if (process.env.DISTLOG_CAPTURE_CONSOLE === '1') captureConsole();
if (process.env.DISTLOG_CAPTURE_DEBUG === '1') captureDebug();
