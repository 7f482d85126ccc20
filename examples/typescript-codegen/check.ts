// Compiles only if the generated types match what the README's query selects.
import type { AgentsQuery, SettingSource } from "./generated/graphql";

export function describe(result: AgentsQuery): string[] {
  const viewer = result.viewer ? `${result.viewer.username}: ${result.viewer.permissions.join(", ")}` : "anonymous";
  const lines = [viewer, `${result.users.totalCount} users`];
  for (const edge of result.users.edges) {
    const user = edge.node;
    const capacity = user.effectiveSettings.capacity;
    const source: SettingSource | "nowhere" = capacity.source ?? "nowhere";
    const skills = (user.skills?.edges ?? []).map((e) => `${e.node.name} ${e.proficiency}`);
    lines.push(`${user.fullName} <${user.email}>: capacity ${capacity.value} from ${source}; ${skills.join(", ")}`);
  }
  return lines;
}
