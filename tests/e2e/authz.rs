//! Authorisation on every object, as a generated matrix: every endpoint × every role × the
//! caller's own organisation or another one. A role that may not act gets 403; an object of
//! another organisation is invisible (404, or 422 where it is only referenced); otherwise the
//! action succeeds. Each cell gets a fresh fixture, so one cell's action cannot mask another's.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::support::server::{Client, Env, Resp, TestServer};
use crate::support::world::{self, Fixture, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Supervisor,
    Inspector,
    Agency,
}

const ROLES: [Role; 4] = [Role::Admin, Role::Supervisor, Role::Inspector, Role::Agency];
const ALL: &[Role] = &ROLES;
const SUPERVISING: &[Role] = &[Role::Admin, Role::Supervisor];
const AGENCY: &[Role] = &[Role::Agency];
const ADMIN: &[Role] = &[Role::Admin];

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    ReadTask,
    ReadPhase,
    History,
    ListPlans,
    Acknowledge,
    SubmitPlan,
    ApprovePlan,
    RejectPlan,
    Urge,
    Cancel,
    Close,
    RequestExtension,
    GrantExtension,
    RefuseExtension,
    Review,
    ReadRecord,
    ReadPhoto,
    ReadOriginal,
    ReadDocument,
    FileInspection,
    FileReport,
    CreateOrg,
    ListUsers,
    VerifyAudit,
}

const ENDPOINTS: [Endpoint; 24] = [
    Endpoint::ReadTask,
    Endpoint::ReadPhase,
    Endpoint::History,
    Endpoint::ListPlans,
    Endpoint::Acknowledge,
    Endpoint::SubmitPlan,
    Endpoint::ApprovePlan,
    Endpoint::RejectPlan,
    Endpoint::Urge,
    Endpoint::Cancel,
    Endpoint::Close,
    Endpoint::RequestExtension,
    Endpoint::GrantExtension,
    Endpoint::RefuseExtension,
    Endpoint::Review,
    Endpoint::ReadRecord,
    Endpoint::ReadPhoto,
    Endpoint::ReadOriginal,
    Endpoint::ReadDocument,
    Endpoint::FileInspection,
    Endpoint::FileReport,
    Endpoint::CreateOrg,
    Endpoint::ListUsers,
    Endpoint::VerifyAudit,
];

impl Endpoint {
    /// Who may take the action at all.
    fn roles(self) -> &'static [Role] {
        use Endpoint as E;
        match self {
            E::ReadTask
            | E::ReadPhase
            | E::History
            | E::ListPlans
            | E::ReadRecord
            | E::ReadPhoto
            | E::ReadOriginal
            | E::ReadDocument => ALL,
            E::Acknowledge | E::SubmitPlan | E::RequestExtension | E::FileReport => AGENCY,
            E::ApprovePlan
            | E::RejectPlan
            | E::Urge
            | E::Cancel
            | E::Close
            | E::GrantExtension
            | E::RefuseExtension
            | E::Review => SUPERVISING,
            E::FileInspection => &[Role::Supervisor, Role::Inspector],
            E::CreateOrg | E::ListUsers | E::VerifyAudit => ADMIN,
        }
    }

    /// What another organisation's caller gets: the object is invisible. `None` for actions
    /// that concern no organisation's object.
    fn hidden(self) -> Option<u16> {
        use Endpoint as E;
        match self {
            E::CreateOrg | E::ListUsers | E::VerifyAudit => None,
            // The task is only referenced from the body: it is a field that names nothing.
            E::FileInspection | E::FileReport => Some(422),
            _ => Some(404),
        }
    }

    async fn fixture(self, w: &World) -> Fixture {
        use Endpoint as E;
        match self {
            E::Acknowledge => w.issue(0).await,
            E::SubmitPlan => w.acknowledged().await,
            E::ApprovePlan | E::RejectPlan | E::ReadDocument | E::ListPlans => w.plan_submitted().await,
            E::GrantExtension | E::RefuseExtension => w.extension_requested().await,
            E::Review | E::ReadRecord | E::ReadPhoto | E::ReadOriginal => w.reported(2).await,
            E::Close => w.completed().await,
            E::CreateOrg | E::ListUsers | E::VerifyAudit => Fixture::default(),
            _ => w.issue(2).await,
        }
    }

    async fn call(self, c: &Client, f: &Fixture, n: usize) -> Resp {
        use Endpoint as E;
        let t = &f.task;
        let later = Utc::now() + Duration::days(15);
        match self {
            E::ReadTask => c.get(&format!("/api/v1/tasks/{t}")).await,
            E::ReadPhase => c.get(&format!("/api/v1/phases/{}", f.phases[0])).await,
            E::History => c.get(&format!("/api/v1/tasks/{t}/history")).await,
            E::ListPlans => c.get(&format!("/api/v1/tasks/{t}/plans")).await,
            E::Acknowledge => {
                c.post(&format!("/api/v1/tasks/{t}/acknowledge"), &json!({}))
                    .await
            }
            E::SubmitPlan => {
                c.post(&format!("/api/v1/tasks/{t}/plans"), &world::plan_body(&[]))
                    .await
            }
            E::ApprovePlan => {
                c.post(&format!("/api/v1/tasks/{t}/plans/1/approve"), &json!({}))
                    .await
            }
            E::RejectPlan => {
                c.post(
                    &format!("/api/v1/tasks/{t}/plans/1/reject"),
                    &json!({ "comment": "重做" }),
                )
                .await
            }
            E::Urge => {
                c.post(
                    &format!("/api/v1/tasks/{t}/urges"),
                    &json!({ "message": "请加快" }),
                )
                .await
            }
            E::Cancel => {
                c.post(&format!("/api/v1/tasks/{t}/cancel"), &json!({ "reason": "撤销" }))
                    .await
            }
            E::Close => {
                c.post(&format!("/api/v1/tasks/{t}/close"), &json!({ "reason": "办结" }))
                    .await
            }
            E::RequestExtension => {
                c.post(
                    &format!("/api/v1/phases/{}/extensions", f.phases[0]),
                    &json!({ "reason": "延期", "proposed_due_at": later }),
                )
                .await
            }
            E::GrantExtension => {
                let ext = f.extension.as_deref().unwrap();
                c.post(&format!("/api/v1/extensions/{ext}/grant"), &json!({}))
                    .await
            }
            E::RefuseExtension => {
                let ext = f.extension.as_deref().unwrap();
                c.post(
                    &format!("/api/v1/extensions/{ext}/refuse"),
                    &json!({ "comment": "不同意" }),
                )
                .await
            }
            E::Review => {
                let report = f.report.as_deref().unwrap();
                c.post(
                    &format!("/api/v1/records/{report}/review"),
                    &json!({ "decision": "accept" }),
                )
                .await
            }
            E::ReadRecord => {
                c.get(&format!("/api/v1/records/{}", f.report.as_deref().unwrap()))
                    .await
            }
            E::ReadPhoto => {
                c.get(&format!("/api/v1/photos/{}", f.photo.as_deref().unwrap()))
                    .await
            }
            E::ReadOriginal => {
                c.get(&format!(
                    "/api/v1/photos/{}/original",
                    f.photo.as_deref().unwrap()
                ))
                .await
            }
            E::ReadDocument => {
                c.get(&format!(
                    "/api/v1/documents/{}/content",
                    f.document.as_deref().unwrap()
                ))
                .await
            }
            E::FileInspection | E::FileReport => {
                let (kind, phase) = match self {
                    E::FileReport => ("rectification", Some(&f.phases[0])),
                    _ => ("inspection", None),
                };
                c.put(
                    &format!("/mobile/v1/records/{}", uuid::Uuid::new_v4()),
                    &json!({ "task_id": t, "phase_id": phase, "kind": kind, "note": "现场", "device_time": Utc::now() }),
                )
                .await
            }
            E::CreateOrg => {
                c.post(
                    "/api/v1/orgs",
                    &json!({ "name": format!("新机构 {n}"), "kind": "agency", "region_code": "130203" }),
                )
                .await
            }
            E::ListUsers => c.get("/api/v1/users").await,
            E::VerifyAudit => c.get("/api/v1/audit/verify").await,
        }
    }
}

fn client(w: &World, role: Role, own: bool) -> &Client {
    let side = if own { &w.a } else { &w.b };
    match role {
        Role::Admin => &w.admin,
        Role::Supervisor => &side.supervisor,
        Role::Inspector => &side.inspector,
        Role::Agency => &side.agency_user,
    }
}

#[tokio::test]
async fn every_endpoint_by_every_role_of_own_and_other_organisations() {
    let server = TestServer::start(Env::embedded().await).await;
    let w = World::new(&server).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for endpoint in ENDPOINTS {
        for role in ROLES {
            for own in [true, false] {
                // An admin belongs to no organisation: one cell is enough.
                if role == Role::Admin && !own {
                    continue;
                }
                cells += 1;
                let f = endpoint.fixture(&w).await;
                let r = endpoint.call(client(&w, role, own), &f, cells).await;
                let allowed = endpoint.roles().contains(&role);
                let expected = if !allowed {
                    "403"
                } else if !own && endpoint.hidden().is_some() {
                    if endpoint.hidden() == Some(422) {
                        "422"
                    } else {
                        "404"
                    }
                } else {
                    "2xx"
                };
                let ok = match expected {
                    "2xx" => (200..300).contains(&r.status),
                    code => r.status.to_string() == code,
                };
                if !ok {
                    failures.push(format!(
                        "{endpoint:?} as {role:?} ({}): expected {expected}, got {} {}",
                        if own { "own" } else { "other" },
                        r.status,
                        r.text()
                    ));
                }
            }
        }
    }
    assert_eq!(cells, ENDPOINTS.len() * 7);
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().await;
}

#[tokio::test]
async fn lists_show_each_caller_only_their_organisations_tasks() {
    let server = TestServer::start(Env::embedded().await).await;
    let w = World::new(&server).await;
    let a = w.issue(1).await;
    // Side b's group issues a task to side a's agency: both groups' tasks reach that agency.
    let r =
        w.b.supervisor
            .post(
                "/api/v1/tasks",
                &json!({ "title": "b 组任务", "site_id": w.site_id, "agency_id": w.a.agency,
                     "due_at": Utc::now() + Duration::days(30) }),
            )
            .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let b = r.json()["id"].as_str().unwrap().to_owned();
    let seen = |c: &Client| {
        let c = c.clone();
        async move {
            let page = c.get("/api/v1/tasks").await.json();
            let mut ids: Vec<String> = world::ids(&page["items"]);
            ids.sort();
            ids
        }
    };
    let mut both = vec![a.task.clone(), b.clone()];
    both.sort();
    assert_eq!(seen(&w.admin).await, both);
    assert_eq!(seen(&w.a.agency_user).await, both);
    assert_eq!(seen(&w.a.supervisor).await, std::slice::from_ref(&a.task));
    assert_eq!(seen(&w.a.inspector).await, std::slice::from_ref(&a.task));
    assert_eq!(seen(&w.b.inspector).await, std::slice::from_ref(&b));
    assert!(seen(&w.b.agency_user).await.is_empty());
    // Agency staff see only the sites of their tasks.
    w.b.agency_user
        .get(&format!("/api/v1/sites/{}", w.site_id))
        .await
        .assert_problem(404, "not_found");
    let r = w.a.agency_user.get(&format!("/api/v1/sites/{}", w.site_id)).await;
    assert_eq!(r.status, 200);
    // Contacts' numbers are for supervisors and admins only.
    let orgs = w.a.agency_user.get("/api/v1/orgs").await.json();
    assert!(
        orgs.as_array()
            .unwrap()
            .iter()
            .all(|o| o["contacts"] == json!([]))
    );
    let orgs = w.a.supervisor.get("/api/v1/orgs").await.json();
    assert!(
        orgs.as_array()
            .unwrap()
            .iter()
            .any(|o| o["contacts"] != json!([]))
    );
    server.stop().await;
}
