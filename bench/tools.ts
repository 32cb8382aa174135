/** External commands that the benchmark runs, with the Debian package that provides each. */
import { findTool } from '../test/helpers/tools.js';

/** A command-line tool and the Debian package that installs it. */
export interface ToolRequirement {
  command: string;
  debianPackage: string;
}

/** Tools of the comparison mode. */
export const COMPARISON_TOOLS: readonly ToolRequirement[] = [
  { command: 'docker-registry', debianPackage: 'docker-registry' },
  { command: 'wrk', debianPackage: 'wrk' },
  { command: 'ab', debianPackage: 'apache2-utils' },
  { command: 'skopeo', debianPackage: 'skopeo' },
  { command: 'curl', debianPackage: 'curl' },
  { command: 'dd', debianPackage: 'coreutils' },
  { command: 'sync', debianPackage: 'coreutils' },
];

/** Absolute paths of the tools found, by command name. */
export type ToolPaths = Record<string, string>;

/**
 * Finds every tool in `requirements` and returns their paths. Throws one error that lists
 * each missing command and the apt-get command that installs them; it installs nothing.
 */
export function locateTools(requirements: readonly ToolRequirement[]): ToolPaths {
  const paths: ToolPaths = {};
  const missing: ToolRequirement[] = [];
  for (const requirement of requirements) {
    const path = findTool(requirement.command);
    if (path === undefined) {
      missing.push(requirement);
    } else {
      paths[requirement.command] = path;
    }
  }
  if (missing.length > 0) {
    const lines = missing.map((tool) => `${tool.command} not found (Debian package ${tool.debianPackage})`);
    const packages = [...new Set(missing.map((tool) => tool.debianPackage))].join(' ');
    throw new MissingToolsError(`${lines.join('\n')}\ninstall with: apt-get install -y ${packages}`);
  }
  return paths;
}

/** Raised when a required command is not installed. */
export class MissingToolsError extends Error {}

/** Returns the path of a tool that `locateTools` found. */
export function toolPath(paths: ToolPaths, command: string): string {
  const path = paths[command];
  if (path === undefined) {
    throw new Error(`${command} was not located: add it to the tool requirements of this mode`);
  }
  return path;
}
