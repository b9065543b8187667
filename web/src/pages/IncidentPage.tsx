// One incident: what it is, what can be done to it next (from the server's available_actions), its details,
// and its timeline with notes. Each section is its own component in ./incident/.
import { ApiError, api } from '../api.js';
import { useLoad, useTitle } from '../hooks.js';
import { useLive } from '../live.js';
import { Link } from '../router.js';
import { canRespond, useSession } from '../session.js';
import { ErrorMessage, Loading, SeverityBadge, StatusBadge, titleCase } from '../components/ui.js';
import { EscalationsCard } from '../components/escalations/EscalationsCard.js';
import type { Incident } from '../types.js';
import { PagerDutyIncidentsCard } from '../components/pagerduty-links/PagerDutyIncidentsCard.js';
import { RecentChangesCard } from '../components/pagerduty-changes/RecentChangesCard.js';
import { IncidentWorkflowsCard } from '../components/workflows/IncidentWorkflowsCard.js';
import { ActionsCard } from './incident/ActionsCard.js';
import { DetailsCard } from './incident/DetailsCard.js';
import { FollowUpsCard } from './incident/FollowUpsCard.js';
import { CustomFieldsCard } from './incident/CustomFieldsCard.js';
import { RolesCard } from './incident/RolesCard.js';
import { SummaryCard } from './incident/SummaryCard.js';
import { TimestampsCard } from './incident/TimestampsCard.js';
import { UpdatesCard } from './incident/UpdatesCard.js';
import { NoteForm, Timeline } from './incident/Timeline.js';
import { PostIncidentCard } from './incident/PostIncidentCard.js';

export function IncidentPage({ idOrRef }: { idOrRef: string }) {
  const session = useSession();
  const incident = useLoad(() => api.incident(idOrRef), [idOrRef]);
  const inc = incident.data;
  useTitle(inc ? `${inc.reference} ${inc.name}` : idOrRef);
  const timeline = useLoad(async () => (inc ? api.timeline(inc.id) : undefined), [inc?.id]);
  const severities = useLoad(() => api.severities(), []);
  // Changes made anywhere (Slack, the API, PagerDuty, another page or process) show without a reload.
  useLive(['incident'], inc?.id ?? null, incident.refresh);
  useLive(['incident', 'timeline'], inc?.id ?? null, timeline.refresh);

  if (incident.loading && !inc) return <Loading label={`Loading ${idOrRef}…`} />;
  if (!inc) {
    const notFound = incident.error instanceof ApiError && incident.error.status === 404;
    return (
      <>
        <Breadcrumb reference={idOrRef} />
        <h1>{notFound ? `No incident ${idOrRef}` : `Could not load ${idOrRef}`}</h1>
        {notFound ? <p>It may have been typed wrongly. Check the reference and try again.</p> : <ErrorMessage error={incident.error} />}
        {!notFound ? (
          <button type="button" onClick={incident.reload}>
            Try again
          </button>
        ) : null}
      </>
    );
  }

  const editable = canRespond(session.user.role);
  const updated = (next: Incident) => {
    incident.setData(next);
    timeline.reload();
  };
  const maxRank = Math.max(inc.severity.rank, ...(severities.data ?? []).map((s) => s.rank));

  return (
    <>
      <Breadcrumb reference={inc.reference} />
      <div className="incident-head">
        <div>
          <p className="incident-ref mono">{inc.reference}</p>
          <h1>{inc.name}</h1>
          <div className="badges" aria-label="Status and severity">
            <StatusBadge name={inc.status.name} category={inc.status.category} />
            <SeverityBadge name={inc.severity.name} rank={inc.severity.rank} maxRank={maxRank} />
            {inc.mode !== 'standard' ? <span className="badge badge-mode">{titleCase(inc.mode)}</span> : null}
          </div>
          {inc.merged_into ? (
            <p className="notice">
              Merged into{' '}
              <Link to={`/incidents/${encodeURIComponent(inc.merged_into.reference)}`}>{inc.merged_into.reference}</Link>. Follow it there.
            </p>
          ) : null}
        </div>
      </div>

      <div className="incident-grid">
        <div className="incident-main">
          <SummaryCard incident={inc} editable={editable} onSaved={updated} />
          <UpdatesCard incident={inc} editable={editable} severities={severities.data ?? []} onPosted={() => void incident.reload()} />
          {inc.status.category === 'closed' ? <PostIncidentCard incident={inc} editable={editable} /> : null}
          {editable ? <ActionsCard incident={inc} onDone={updated} /> : null}
          <EscalationsCard incidentId={inc.id} editable={editable} onChanged={timeline.reload} />
          <RecentChangesCard incidentId={inc.id} editable={editable} onPinned={timeline.reload} />
          <IncidentWorkflowsCard incidentId={inc.id} editable={editable} onRan={timeline.reload} />
          <FollowUpsCard incidentId={inc.id} editable={editable} takesNew={inc.status.category !== 'merged' && inc.status.category !== 'canceled'} onChanged={timeline.reload} />
          <section className="card" aria-labelledby="timeline-heading">
            <div className="card-head">
              <h2 id="timeline-heading">Timeline</h2>
              <button type="button" className="button-quiet button-small" onClick={timeline.reload} disabled={timeline.loading}>
                Refresh
              </button>
            </div>
            <Timeline items={timeline.data} loading={timeline.loading} error={timeline.error} />
            {editable ? <NoteForm incidentId={inc.id} onAdded={timeline.reload} /> : null}
          </section>
        </div>
        <aside className="incident-side" aria-label="Details">
          <DetailsCard incident={inc} editable={editable} onChanged={updated} />
          <RolesCard incident={inc} editable={editable} onChanged={updated} onStale={incident.refresh} />
          <CustomFieldsCard incident={inc} editable={editable} onChanged={updated} />
          <TimestampsCard incident={inc} editable={editable} onChanged={updated} />
          <PagerDutyIncidentsCard incidentId={inc.id} editable={editable} closed={inc.status.category === 'closed'} onChanged={timeline.reload} />
        </aside>
      </div>
    </>
  );
}

function Breadcrumb({ reference }: { reference: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/">Incidents</Link> <span aria-hidden="true">/</span> <span aria-current="page">{reference}</span>
    </nav>
  );
}
