import { placeMember, type IncidentMember, type IncidentView, type OpenIncident } from '../../core/incidents.js';
import type { IncidentStore } from '../../core/ports/incident-store.js';

interface Incident {
  family: string;
  members: Map<string, IncidentMember>;
  claims: Map<string, string>;
}

/** For replay, backtests and tests: the same rule as the DynamoDB store, in process memory. */
export class InMemoryIncidentStore implements IncidentStore {
  readonly open = new Map<string, OpenIncident>();
  readonly incidentOf = new Map<string, string>();
  readonly incidents = new Map<string, Incident>();

  async join(member: IncidentMember & { family: string }, windowMs: number): Promise<IncidentView> {
    let id = this.incidentOf.get(member.anomalyId);
    if (id === undefined) {
      const placed = placeMember(this.open.get(member.family), member, windowMs);
      if (placed.next) this.open.set(member.family, placed.next);
      id = placed.id;
      this.incidentOf.set(member.anomalyId, id);
    }
    let incident = this.incidents.get(id);
    if (!incident) {
      incident = { family: member.family, members: new Map(), claims: new Map() };
      this.incidents.set(id, incident);
    }
    const { family: _f, ...m } = member;
    incident.members.set(member.anomalyId, m);
    return view(id, incident);
  }

  async get(id: string): Promise<IncidentView | undefined> {
    const incident = this.incidents.get(id);
    return incident && view(id, incident);
  }

  async members(id: string): Promise<IncidentMember[]> {
    return [...(this.incidents.get(id)?.members.values() ?? [])].sort((a, b) => a.start - b.start);
  }

  async claim(id: string, purpose: string, anomalyId: string): Promise<boolean> {
    let incident = this.incidents.get(id);
    if (!incident) {
      incident = { family: '', members: new Map(), claims: new Map() };
      this.incidents.set(id, incident);
    }
    const by = incident.claims.get(purpose);
    if (by === undefined) incident.claims.set(purpose, anomalyId);
    return (by ?? anomalyId) === anomalyId;
  }
}

function view(id: string, incident: Incident): IncidentView {
  const ms = [...incident.members.values()];
  return {
    id,
    family: incident.family,
    tenants: [...new Set(ms.map((m) => m.tenant))].sort(),
    signals: [...new Set(ms.map((m) => m.signal))].sort(),
    members: ms.length,
  };
}
