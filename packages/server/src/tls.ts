/** TLS material for `serve`: files the user gives, or a self-signed pair generated once into the data dir. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** Set when mlgrid generated the certificate: the file to trust (NODE_EXTRA_CA_CERTS). */
  generatedCertPath?: string;
}

export async function selfSignedTls(dataDir: string): Promise<TlsMaterial> {
  const dir = resolve(dataDir, 'tls');
  const certPath = join(dir, 'self-signed-cert.pem');
  const keyPath = join(dir, 'self-signed-key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const notAfterDate = new Date(Date.now() + 825 * 24 * 3600 * 1000);
    const pems = await generate([{ name: 'commonName', value: 'mlgrid local' }], {
      keySize: 2048,
      notAfterDate,
      algorithm: 'sha256',
      extensions: [
        // CA:TRUE lets the certificate serve as its own trust anchor in NODE_EXTRA_CA_CERTS.
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ],
    });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert);
  }
  return {
    key: readFileSync(keyPath, 'utf8'),
    cert: readFileSync(certPath, 'utf8'),
    generatedCertPath: certPath,
  };
}

export function tlsFromFiles(certFile: string, keyFile: string): TlsMaterial {
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
