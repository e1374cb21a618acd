import { SettingsError } from '../runtime/settings.js';

/** The gateway's config or environment cannot be used; the message names the file or variable and the key. */
export class ConfigError extends SettingsError {
  override readonly name = 'ConfigError';
}
