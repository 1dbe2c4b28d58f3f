//! Organisations: creation, listing and deactivation.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, StoreResult, audit, in_tx, on_pool, unique_as};
use crate::audit::{Actor, AuditEvent};
use crate::domain::{Contact, Org, OrgKind, RegionCode};
use crate::ids::OrgId;

const ORG_COLUMNS: &str = "id, name, kind, region_code, contacts, active, created_at";

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: OrgId,
    name: String,
    kind: String,
    region_code: String,
    contacts: String,
    active: bool,
    created_at: DateTime<Utc>,
}

impl OrgRow {
    fn into_org(self) -> StoreResult<Org> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} `{v}`"));
        Ok(Org {
            id: self.id,
            kind: OrgKind::parse(&self.kind).ok_or_else(|| corrupt("org kind", &self.kind))?,
            region: RegionCode::parse(&self.region_code)
                .map_err(|_| corrupt("region code", &self.region_code))?,
            contacts: serde_json::from_str(&self.contacts)
                .map_err(|_| corrupt("contacts", &self.contacts))?,
            name: self.name,
            active: self.active,
            created_at: self.created_at,
        })
    }
}

impl Store {
    /// Stores a validated organisation.
    pub async fn create_org(
        &self,
        name: &str,
        kind: OrgKind,
        region: RegionCode,
        contacts: &[Contact],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<Org> {
        let org = Org {
            id: OrgId::new(),
            name: name.trim().to_owned(),
            kind,
            region,
            contacts: contacts.to_vec(),
            active: true,
            created_at: now,
        };
        let contacts_json = serde_json::to_string(&org.contacts)
            .map_err(|e| StoreError::Corrupt(format!("contacts: {e}")))?;
        let event = AuditEvent::new(
            now,
            actor,
            "org.created",
            "org",
            org.id.0,
            &serde_json::json!({ "name": org.name, "kind": kind.as_str(), "region_code": region.as_str() }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO orgs (id, name, kind, region_code, contacts, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, TRUE, $6)",
            )
            .bind(org.id)
            .bind(&org.name)
            .bind(kind.as_str())
            .bind(region.as_str())
            .bind(&contacts_json)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_as(e, "organisation name"))?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(org)
    }

    /// One organisation.
    pub async fn find_org(&self, id: OrgId) -> StoreResult<Option<Org>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1");
        let row: Option<OrgRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(OrgRow::into_org).transpose()
    }

    /// Every organisation, by name.
    pub async fn list_orgs(&self) -> StoreResult<Vec<Org>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY name, id");
        let rows: Vec<OrgRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        rows.into_iter().map(OrgRow::into_org).collect()
    }

    /// Deactivates an organisation; its users can no longer sign in and their tokens stop
    /// working. `false` when it was already inactive.
    pub async fn deactivate_org(&self, id: OrgId, actor: &Actor, now: DateTime<Utc>) -> StoreResult<bool> {
        let event = AuditEvent::new(now, actor, "org.deactivated", "org", id.0, &serde_json::json!({}));
        Ok(in_tx!(self, tx => {
            let done = sqlx::query("UPDATE orgs SET active = FALSE, deactivated_at = $1 WHERE id = $2 AND active = TRUE")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if done {
                audit::insert(&event).execute(&mut *tx).await?;
            }
            done
        }))
    }
}
