//! Who may do what: Casbin (RBAC with domains = tenants) with the model in
//! `core/policy/model.conf`. Role permissions are stored once for all tenants; a
//! tenant's enforcer holds them plus only that tenant's role assignments, is built
//! on first use through [`StoreAdapter`], cached, and rebuilt when the tenant's
//! policy version moves (any instance's change reaches all within a second, through
//! the routing index). A decision yields a [`ScopeKind`] — all, organization or
//! own — which the caller turns into a data-layer [`Scope`]; decisions are memoized
//! per subject, and per set of roles across every tenant with the same rules, so a
//! list never asks the enforcer per row and Casbin is asked once per role and
//! object/action in the process.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use casbin::{Adapter, CoreApi, DefaultModel, Enforcer, Filter, MgmtApi, Model, RbacApi};
use lru::LruCache;
use portico_tenants::policy::{self, Scope};
use portico_tenants::routing::TenantRoute;
use portico_tenants::{Store, StoreError, TenantDb, TenantId};

/// The model, compiled into the binary.
pub const MODEL: &str = include_str!("../policy/model.conf");
/// The shipped role permissions, seeded into an empty platform.
pub const SHIPPED_POLICY: &str = include_str!("../policy/policy.csv");

/// The reach a decision grants, widest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// Everything in the tenant.
    All,
    /// The caller's organization.
    Organization,
    /// The caller's own.
    Own,
}

impl ScopeKind {
    const WIDEST_FIRST: [ScopeKind; 3] = [ScopeKind::All, ScopeKind::Organization, ScopeKind::Own];

    fn suffix(self) -> &'static str {
        match self {
            ScopeKind::All => "all",
            ScopeKind::Organization => "organization",
            ScopeKind::Own => "own",
        }
    }
}

/// Why a decision could not be made (storage or a policy that does not load).
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    /// The policy's storage failed.
    #[error("policy storage")]
    Store(#[from] StoreError),
    /// Casbin refused the model or the policy.
    #[error("policy engine: {0}")]
    Engine(String),
}

impl From<casbin::Error> for PermissionError {
    fn from(error: casbin::Error) -> Self {
        PermissionError::Engine(error.to_string())
    }
}

/// Parses the shipped CSV policy into rules (`[ptype, v0, …]`).
pub fn parse_policy(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.split(',')
                .map(|field| field.trim().to_owned())
                .collect()
        })
        .collect()
}

/// Casbin adapter over Portico's own storage, the same on SQLite and PostgreSQL:
/// `p` rules live in the platform's `casbin_rule` table; `g` rules are derived from
/// the tenant's people and API tokens (their roles are managed there, so `g` rules
/// cannot be written through the adapter).
pub struct StoreAdapter {
    store: Store,
    tenant: TenantDb,
}

impl StoreAdapter {
    /// An adapter for one tenant.
    pub fn new(store: Store, tenant: TenantDb) -> Self {
        StoreAdapter { store, tenant }
    }
}

fn adapter_error(message: String) -> casbin::Error {
    casbin::Error::AdapterError(casbin::error::AdapterError(Box::new(
        std::io::Error::other(message),
    )))
}

fn store_error(error: StoreError) -> casbin::Error {
    adapter_error(portico_tenants::migrate::error_chain(&error))
}

#[async_trait]
impl Adapter for StoreAdapter {
    async fn load_policy(&mut self, model: &mut dyn Model) -> casbin::Result<()> {
        for rule in policy::global_rules(&self.store)
            .await
            .map_err(store_error)?
        {
            let Some((ptype, values)) = rule.split_first() else {
                continue;
            };
            let section = &ptype[..1];
            model.add_policy(section, ptype, values.to_vec());
        }
        let domain = self.tenant.id().to_string();
        for (subject, role) in policy::role_assignments(&self.tenant)
            .await
            .map_err(store_error)?
        {
            model.add_policy(
                "g",
                "g",
                vec![subject, role.as_str().to_owned(), domain.clone()],
            );
        }
        Ok(())
    }

    async fn load_filtered_policy<'a>(
        &mut self,
        model: &mut dyn Model,
        _filter: Filter<'a>,
    ) -> casbin::Result<()> {
        self.load_policy(model).await
    }

    async fn save_policy(&mut self, _model: &mut dyn Model) -> casbin::Result<()> {
        Err(adapter_error("the policy is saved rule by rule".to_owned()))
    }

    async fn clear_policy(&mut self) -> casbin::Result<()> {
        Err(adapter_error(
            "the shared policy cannot be cleared from one tenant".to_owned(),
        ))
    }

    fn is_filtered(&self) -> bool {
        false
    }

    async fn add_policy(
        &mut self,
        section: &str,
        ptype: &str,
        rule: Vec<String>,
    ) -> casbin::Result<bool> {
        if section != "p" {
            return Err(adapter_error(
                "role assignments are changed on people and tokens".to_owned(),
            ));
        }
        let mut full = vec![ptype.to_owned()];
        full.extend(rule);
        policy::add_global_rule(&self.store, &full)
            .await
            .map_err(store_error)
    }

    async fn add_policies(
        &mut self,
        section: &str,
        ptype: &str,
        rules: Vec<Vec<String>>,
    ) -> casbin::Result<bool> {
        let mut any = false;
        for rule in rules {
            any |= self.add_policy(section, ptype, rule).await?;
        }
        Ok(any)
    }

    async fn remove_policy(
        &mut self,
        section: &str,
        ptype: &str,
        rule: Vec<String>,
    ) -> casbin::Result<bool> {
        if section != "p" {
            return Err(adapter_error(
                "role assignments are changed on people and tokens".to_owned(),
            ));
        }
        let mut full = vec![ptype.to_owned()];
        full.extend(rule);
        policy::remove_global_rule(&self.store, &full)
            .await
            .map_err(store_error)
    }

    async fn remove_policies(
        &mut self,
        section: &str,
        ptype: &str,
        rules: Vec<Vec<String>>,
    ) -> casbin::Result<bool> {
        let mut any = false;
        for rule in rules {
            any |= self.remove_policy(section, ptype, rule).await?;
        }
        Ok(any)
    }

    async fn remove_filtered_policy(
        &mut self,
        _section: &str,
        _ptype: &str,
        _field_index: usize,
        _field_values: Vec<String>,
    ) -> casbin::Result<bool> {
        Err(adapter_error(
            "filtered removal is not supported".to_owned(),
        ))
    }
}

type DecisionKey = (String, &'static str, &'static str);

struct TenantPolicy {
    version: i64,
    built: Instant,
    enforcer: Enforcer,
    /// Decisions per subject: the steady state of a request.
    decisions: Mutex<HashMap<DecisionKey, Option<ScopeKind>>>,
    /// Decisions per set of roles (joined with `,`), shared by every subject holding
    /// exactly those roles — in every tenant whose enforcer has the same rules. Valid
    /// because the model's role links are one level deep (`g` lines map people and
    /// tokens to roles, never roles to roles) and every `p` rule names a role and
    /// the wildcard domain (checked when the enforcer is built), so Casbin's answer
    /// depends on the subject only through its roles and not on the tenant.
    by_roles: Option<Arc<RoleMemo>>,
}

/// Decisions by (roles, object, action).
type RoleMemo = Mutex<HashMap<DecisionKey, Option<ScopeKind>>>;

/// Cached enforcers are rebuilt at least this often even without a version change:
/// a safety net should a change notification be lost.
const MAX_ENFORCER_AGE: Duration = Duration::from_secs(300);

/// The permission service of one application.
pub struct Permissions {
    cache: Mutex<LruCache<TenantId, Arc<TenantPolicy>>>,
    /// Role decisions shared across tenants, by a hash of the rule set they hold for.
    role_memos: Mutex<HashMap<u64, Arc<RoleMemo>>>,
}

impl std::fmt::Debug for Permissions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Permissions")
    }
}

impl Permissions {
    /// A service keeping at most `capacity` tenants' enforcers.
    pub fn new(capacity: usize) -> Self {
        Permissions {
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN),
            )),
            role_memos: Mutex::new(HashMap::new()),
        }
    }

    /// Seeds the shipped role permissions into an empty platform.
    pub async fn seed(store: &Store) -> Result<usize, StoreError> {
        policy::seed_global_rules(store, &parse_policy(SHIPPED_POLICY)).await
    }

    async fn tenant_policy(
        &self,
        store: &Store,
        route: &TenantRoute,
        db: &TenantDb,
        version: i64,
    ) -> Result<Arc<TenantPolicy>, PermissionError> {
        if let Ok(mut cache) = self.cache.lock()
            && let Some(policy) = cache.get(&route.id)
            && policy.version >= version
            && policy.built.elapsed() < MAX_ENFORCER_AGE
        {
            return Ok(policy.clone());
        }
        let model = DefaultModel::from_str(MODEL).await?;
        let enforcer = Enforcer::new(model, StoreAdapter::new(store.clone(), db.clone())).await?;
        let mut rules = enforcer.get_policy();
        let shareable = rules.iter().all(|rule| {
            rule.first()
                .is_some_and(|subject| portico_tenants::Role::parse(subject).is_ok())
                && rule.get(1).is_some_and(|domain| domain == "*")
        });
        let by_roles = if shareable {
            use std::hash::{Hash, Hasher};
            rules.sort();
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            rules.hash(&mut hasher);
            let key = hasher.finish();
            self.role_memos
                .lock()
                .ok()
                .map(|mut memos| memos.entry(key).or_default().clone())
        } else {
            None
        };
        let policy = Arc::new(TenantPolicy {
            version,
            built: Instant::now(),
            enforcer,
            decisions: Mutex::new(HashMap::new()),
            by_roles,
        });
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(route.id, policy.clone());
        }
        Ok(policy)
    }

    /// The widest scope `subject` (`user:<id>` or `token:<id>`) has for `action` on
    /// `object` in the routed tenant; `None` when denied.
    ///
    /// The enforcer is the one of the routed tenant's policy version, which every
    /// instance learns within a second. A subject the enforcer holds no role for at
    /// all was authenticated a moment ago from storage, so it exists: the enforcer
    /// predates it (a token or person created through another instance or the CLI),
    /// and the stored version is consulted before a denial stands. Subjects the
    /// enforcer knows are decided from memory alone.
    pub async fn decide(
        &self,
        store: &Store,
        route: &TenantRoute,
        db: &TenantDb,
        subject: &str,
        object: &'static str,
        action: &'static str,
    ) -> Result<Option<ScopeKind>, PermissionError> {
        let policy = self
            .tenant_policy(store, route, db, route.policy_version)
            .await?;
        let (granted, known_subject) = Self::decide_with(&policy, route, subject, object, action)?;
        if granted.is_some() || known_subject {
            return Ok(granted);
        }
        let current = policy::policy_version(store, route.id).await?;
        if current <= policy.version {
            return Ok(None);
        }
        let fresh = self.tenant_policy(store, route, db, current).await?;
        Ok(Self::decide_with(&fresh, route, subject, object, action)?.0)
    }

    /// Decides on one enforcer: from the subject's memo, else from the memo of its
    /// roles, else by asking Casbin for each scope, widest first. Also says whether
    /// the enforcer knows the subject (holds a role for it).
    fn decide_with(
        policy: &TenantPolicy,
        route: &TenantRoute,
        subject: &str,
        object: &'static str,
        action: &'static str,
    ) -> Result<(Option<ScopeKind>, bool), PermissionError> {
        let key = (subject.to_owned(), object, action);
        if let Ok(decisions) = policy.decisions.lock()
            && let Some(known) = decisions.get(&key)
        {
            // Only decisions on known subjects are memoized per subject.
            return Ok((*known, true));
        }
        let domain = route.id.to_string();
        let mut roles = policy
            .enforcer
            .get_roles_for_user(subject, Some(domain.as_str()));
        if roles.is_empty() {
            return Ok((None, false));
        }
        roles.sort_unstable();
        let roles_key = (roles.join(","), object, action);
        let remembered = policy
            .by_roles
            .as_ref()
            .and_then(|memo| memo.lock().ok()?.get(&roles_key).copied());
        let granted = match remembered {
            Some(granted) => granted,
            None => {
                let mut granted = None;
                for kind in ScopeKind::WIDEST_FIRST {
                    let act = format!("{action}:{}", kind.suffix());
                    if policy
                        .enforcer
                        .enforce((subject, domain.as_str(), object, act.as_str()))?
                    {
                        granted = Some(kind);
                        break;
                    }
                }
                if let Some(memo) = &policy.by_roles
                    && let Ok(mut memo) = memo.lock()
                {
                    memo.insert(roles_key, granted);
                }
                granted
            }
        };
        if let Ok(mut decisions) = policy.decisions.lock() {
            decisions.insert(key, granted);
        }
        Ok((granted, true))
    }
}

/// Turns a decision into the data layer's filter for a caller who is person
/// `user_id` (if any) of organization `organization_id` (if any).
pub fn scope_for(kind: ScopeKind, user_id: Option<i64>, organization_id: Option<i64>) -> Scope {
    match kind {
        ScopeKind::All => Scope::All,
        ScopeKind::Organization => Scope::Organization(organization_id),
        ScopeKind::Own => Scope::Own(user_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_parses_into_p_rules_for_every_domain() {
        let rules = parse_policy(SHIPPED_POLICY);
        assert!(rules.len() >= 10);
        for rule in &rules {
            assert_eq!(rule.len(), 5, "{rule:?}");
            assert_eq!(rule[0], "p");
            assert_eq!(rule[2], "*", "role permissions are global: {rule:?}");
            assert!(rule[4].contains(':'), "actions carry their scope: {rule:?}");
        }
    }
}
