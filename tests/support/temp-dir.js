"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.temporaryDir = temporaryDir;
exports.removeTemporaryDirs = removeTemporaryDirs;
const node_fs_1 = require("node:fs");
const node_os_1 = __importDefault(require("node:os"));
const node_path_1 = __importDefault(require("node:path"));
const made = new Set();
/**
 * A new folder under the system's temporary directory, removed after the test file
 * (support/jest-cleanup.ts) or, outside jest (the soak), when the process exits — not sooner:
 * a test may start a second collector over the first one's home and spool.
 */
function temporaryDir(prefix) {
    if (made.size === 0)
        process.once('exit', removeTemporaryDirs);
    const dir = (0, node_fs_1.mkdtempSync)(node_path_1.default.join(node_os_1.default.tmpdir(), prefix));
    made.add(dir);
    return dir;
}
function removeTemporaryDirs() {
    for (const dir of made)
        (0, node_fs_1.rmSync)(dir, { recursive: true, force: true });
    made.clear();
}
//# sourceMappingURL=temp-dir.js.map