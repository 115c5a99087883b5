// Runs after each end-to-end test file (jest setupFilesAfterEnv): the folders it made go.
import { removeTemporaryDirs } from './temp-dir';

afterAll(removeTemporaryDirs);
