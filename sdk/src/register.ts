// `node -r @distlog/sdk/register app.js`: Distlog with no code change — init() from
// OTEL_* variables, pino lines get trace context, console is captured when
// DISTLOG_CAPTURE_CONSOLE=1.
import { init } from './init';
import { captureConsole } from './console';

init();
if (process.env.DISTLOG_CAPTURE_CONSOLE === '1') captureConsole();
