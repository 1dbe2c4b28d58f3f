//! Unit tests of `task`.
use super::*;
use chrono::Duration;

fn phase(due_at: DateTime<Utc>, status: PhaseStatus) -> Phase {
    Phase {
        id: PhaseId::new(),
        task_id: TaskId::new(),
        seq: 1,
        title: "p".into(),
        due_at,
        starts_at: None,
        status,
    }
}

#[test]
fn open_phase_past_due_is_overdue_and_accepted_one_is_not() {
    let now = Utc::now();
    assert!(phase(now - Duration::seconds(1), PhaseStatus::Open).is_overdue(now));
    assert!(!phase(now + Duration::seconds(1), PhaseStatus::Open).is_overdue(now));
    assert!(!phase(now - Duration::days(3), PhaseStatus::Accepted).is_overdue(now));
    assert!(phase(now - Duration::days(3), PhaseStatus::Submitted).is_overdue(now));
}

#[test]
fn overdue_days_count_started_days() {
    let now = Utc::now();
    assert_eq!(overdue_days(Some(now + Duration::hours(1)), now), 0);
    assert_eq!(overdue_days(Some(now - Duration::hours(1)), now), 1);
    assert_eq!(overdue_days(Some(now - Duration::hours(49)), now), 3);
    assert_eq!(overdue_days(None, now), 0);
}

#[test]
fn next_due_skips_accepted_phases() {
    let now = Utc::now();
    let phases = [
        phase(now - Duration::days(2), PhaseStatus::Accepted),
        phase(now + Duration::days(5), PhaseStatus::Open),
        phase(now + Duration::days(3), PhaseStatus::Returned),
    ];
    assert_eq!(next_due(&phases), Some(now + Duration::days(3)));
    assert_eq!(next_due(&phases[..1]), None);
}

#[test]
fn phases_out_of_order_or_after_the_task_are_refused() {
    let now = Utc::now();
    let task = NewTask {
        title: "t".into(),
        description: None,
        site_id: SiteId::new(),
        agency_id: OrgId::new(),
        due_at: now + Duration::days(10),
        phases: vec![
            NewPhase {
                title: "a".into(),
                due_at: now + Duration::days(5),
            },
            NewPhase {
                title: "b".into(),
                due_at: now + Duration::days(4),
            },
            NewPhase {
                title: "c".into(),
                due_at: now + Duration::days(11),
            },
        ],
    };
    let err = task.validate(now).unwrap_err();
    let fields: Vec<_> = err.errors.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["phases[1].due_at", "phases[2].due_at"]);
}

/// Every (state, action) pair: exactly the pairs of the workflow are allowed.
#[test]
fn the_state_machine_allows_exactly_the_workflow() {
    use TaskAction as A;
    use TaskStatus as S;
    let allowed = [
        (S::Issued, A::Acknowledge, S::Acknowledged),
        (S::Acknowledged, A::SubmitPlan, S::PlanSubmitted),
        (S::PlanSubmitted, A::ApprovePlan, S::InProgress),
        (S::PlanSubmitted, A::RejectPlan, S::Acknowledged),
        (S::InProgress, A::Complete, S::Completed),
        (S::InProgress, A::AddPhase, S::InProgress),
        (S::Completed, A::AddPhase, S::InProgress),
        (S::Completed, A::Close, S::Closed),
        (S::Issued, A::Cancel, S::Cancelled),
        (S::Acknowledged, A::Cancel, S::Cancelled),
        (S::PlanSubmitted, A::Cancel, S::Cancelled),
        (S::InProgress, A::Cancel, S::Cancelled),
        (S::InProgress, A::SubmitReport, S::InProgress),
        (S::InProgress, A::ReviewReport, S::InProgress),
        (S::InProgress, A::RequestExtension, S::InProgress),
        (S::InProgress, A::DecideExtension, S::InProgress),
    ];
    for &from in S::ALL {
        for &action in A::ALL {
            let expected = allowed
                .iter()
                .find(|(f, a, _)| *f == from && *a == action)
                .map(|(_, _, to)| *to)
                .or(match action {
                    A::Urge if !from.is_final() && from != S::Completed => Some(from),
                    A::FileInspection if !from.is_final() => Some(from),
                    _ => None,
                });
            match (from.apply(action), expected) {
                (Ok(to), Some(want)) => assert_eq!(to, want, "{from} --{action}-->"),
                (Err(e), None) => {
                    assert_eq!((e.state, e.action), (from.as_str(), action.as_str()));
                    assert!(e.to_string().contains(from.as_str()));
                }
                (got, want) => panic!("{from} --{action}--> gave {got:?}, expected {want:?}"),
            }
        }
    }
}

#[test]
fn a_report_on_an_accepted_phase_and_a_late_extension_are_refused() {
    let now = Utc::now();
    assert!(phase(now, PhaseStatus::Accepted).submit_report().is_err());
    assert_eq!(
        phase(now, PhaseStatus::Returned).submit_report(),
        Ok(PhaseStatus::Submitted)
    );
    let late = phase(now - Duration::minutes(1), PhaseStatus::Open).may_extend(now);
    assert_eq!(late.map_err(|e| e.state), Err("overdue"));
    assert!(
        phase(now + Duration::days(1), PhaseStatus::Open)
            .may_extend(now)
            .is_ok()
    );
}
