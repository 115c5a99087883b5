import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporaryDir } from './temp-dir';

/**
 * A throw-away certificate authority and a server certificate for 127.0.0.1 and
 * localhost, made with the openssl command line, for the TLS tests.
 */
export interface TestCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
}

export function makeCertificates(): TestCertificates {
  const dir = temporaryDir('distlog-certs-');
  const at = (f: string) => path.join(dir, f);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
    '-subj',
    '/CN=Distlog test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const server = sign(
    dir,
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
  );
  return {
    dir,
    caFile: at('ca.pem'),
    certFile: server.certFile,
    keyFile: server.keyFile,
    ca: readFileSync(at('ca.pem')),
  };
}

/** A client certificate (mutual TLS) signed by the test CA of `certs`. */
export function issueClientCertificate(
  certs: TestCertificates,
  name: string,
): { certFile: string; keyFile: string } {
  return sign(certs.dir, name, `/CN=${name}`, 'extendedKeyUsage=clientAuth');
}

/** A key and a certificate for `subject`, signed by the CA in `dir`. */
function sign(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): { certFile: string; keyFile: string } {
  const at = (f: string) => path.join(dir, f);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at(`${name}.key`),
    '-out',
    at(`${name}.csr`),
    '-subj',
    subject,
  );
  writeFileSync(at(`${name}.ext`), extensions + '\n');
  openssl(
    'x509',
    '-req',
    '-in',
    at(`${name}.csr`),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    at(`${name}.pem`),
    '-extfile',
    at(`${name}.ext`),
  );
  return { certFile: at(`${name}.pem`), keyFile: at(`${name}.key`) };
}
