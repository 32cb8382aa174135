import { RegistryError } from '../errors.js';
import { truncate } from './digest.js';

/** Repository name grammar of the OCI distribution-spec: path components separated by slashes. */
const namePattern = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** Tag grammar of the OCI distribution-spec. */
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Maximum length of a repository name in characters. */
export const maxNameLength = 255;

/** Checks a repository name against the spec's grammar and length limit; throws NAME_INVALID. */
export function validateName(name: string): void {
  if (name.length > maxNameLength) {
    throw new RegistryError('NAME_INVALID', `invalid repository name "${truncate(name, 80)}": longer than ${maxNameLength} characters`);
  }
  if (!namePattern.test(name)) {
    throw new RegistryError(
      'NAME_INVALID',
      `invalid repository name "${truncate(name)}": use lowercase letters, digits and the separators . _ __ - between them, with / between path components`,
    );
  }
}

/** Returns true when `tag` matches the spec's tag grammar. */
export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

/** Checks a tag against the spec's grammar (at most 128 characters); throws TAG_INVALID. */
export function validateTag(tag: string): void {
  if (!tagPattern.test(tag)) {
    throw new RegistryError(
      'TAG_INVALID',
      `invalid tag "${truncate(tag)}": a tag is 1 to 128 characters of letters, digits, _ . and -, and must not start with . or -`,
      { status: 400 },
    );
  }
}
