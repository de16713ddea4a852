/**
 * Headless Chromium for the page tests (ecosystem.md): Debian's /usr/bin/chromium through
 * playwright-core (it makes a fresh temporary profile per launch), WebGPU on SwiftShader when asked for. Never
 * `playwright install`.
 */
import { type Browser, chromium } from 'playwright-core';

const BASE_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Chromium with WebGPU (`webgpu: true`: --enable-unsafe-webgpu) or without it (the gpu.js / CPU path). */
export async function launch(o: { webgpu: boolean }): Promise<Browser> {
  // WebGL2 for gpu.js runs on SwiftShader too; recent Chromium asks for it explicitly
  const args = [...BASE_FLAGS, '--enable-unsafe-swiftshader', ...(o.webgpu ? ['--enable-unsafe-webgpu'] : [])];
  return chromium.launch({ executablePath: process.env.HSA_CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
}
