/**
 * Snowflake's access control as its documentation describes it, as far as the pipeline's statements use
 * it: who may query what after a sequence of GRANT and CREATE statements. A stand-in for reasoning about
 * grants, not a database: it tracks objects by name, privileges per role, role inheritance and future
 * grants, and refuses statements of those kinds it cannot read (so a new grant form is noticed).
 *
 * The documented behaviours it encodes:
 * - To run a query a role needs USAGE on a warehouse ("Enables using a virtual warehouse and, as a
 *   result, executing queries on the warehouse"), USAGE on the database and the schema, and SELECT on the
 *   table or view. https://docs.snowflake.com/en/user-guide/security-access-control-privileges
 * - A role granted to another role passes its privileges up: GRANT ROLE a TO ROLE b means b has a's.
 *   https://docs.snowflake.com/en/user-guide/security-access-control-overview#role-hierarchy-and-privilege-inheritance
 * - GRANT ... ON ALL <objects> IN SCHEMA covers the objects that exist when it runs; GRANT ... ON FUTURE
 *   <objects> covers objects created afterwards, not existing ones.
 *   https://docs.snowflake.com/en/sql-reference/sql/grant-privilege
 * - CREATE OR REPLACE VIEW ... COPY GRANTS "copies all privileges, except OWNERSHIP, from the existing
 *   view to the new view. The new view does not inherit any future grants defined for the object type
 *   in the schema." Without COPY GRANTS the new view "does not inherit any explicit access privileges
 *   granted on the original view but does inherit any future grants".
 *   https://docs.snowflake.com/en/sql-reference/sql/create-view#optional-parameters
 *   The page does not say what COPY GRANTS does when no view existed; the model takes the stricter
 *   reading (no future grants), so code that relies on either must not depend on it.
 * - "Future grants are not applied when renaming or swapping a table": a table keeps the grants it had,
 *   so ALTER TABLE a SWAP WITH b exchanges names and each object keeps its grants.
 *   https://docs.snowflake.com/en/sql-reference/sql/grant-privilege#future-grants-on-database-or-schema-objects
 */
import { stripComments } from '../../../shared/warehouse/split-statements';

type Kind = 'TABLE' | 'VIEW';

interface Obj {
  kind: Kind;
  /** role -> privileges granted on this object */
  grants: Map<string, Set<string>>;
}

const word = String.raw`[A-Za-z_][A-Za-z0-9_$]*`;
const name = String.raw`${word}(?:\.${word}){0,2}`;

export class AccessModel {
  private readonly parents = new Map<string, Set<string>>(); // role -> roles it was granted to
  private readonly plain = new Map<string, Map<string, Set<string>>>(); // `KIND NAME` -> role -> privileges
  private readonly future = new Map<string, Map<string, Set<string>>>(); // `KIND SCHEMA` -> role -> privileges
  private readonly objects = new Map<string, Obj>(); // DB.SCHEMA.NAME -> object

  /**
   * The system roles' own hierarchy: ACCOUNTADMIN holds SYSADMIN and SECURITYADMIN, SECURITYADMIN holds
   * USERADMIN, and PUBLIC is granted to every role.
   * https://docs.snowflake.com/en/user-guide/security-access-control-overview#system-defined-roles
   */
  constructor(readonly database: string) {
    this.parents.set('SYSADMIN', new Set(['ACCOUNTADMIN']));
    this.parents.set('SECURITYADMIN', new Set(['ACCOUNTADMIN']));
    this.parents.set('USERADMIN', new Set(['SECURITYADMIN']));
  }

  /** Apply statements in order (migrations, then a rebuild's DDL, ...). */
  apply(statements: Iterable<string>): void {
    for (const sql of statements) this.run(sql);
  }

  private qualify(n: string, parts: number): string {
    const segments = n.toUpperCase().split('.');
    return [...[this.database, 'PUBLIC'].slice(0, Math.max(0, parts - segments.length)), ...segments].join('.');
  }

  private run(statement: string): void {
    // WITH GRANT OPTION lets the grantee grant further; what it may do itself is the same
    const sql = stripComments(statement).replace(/\s+/g, ' ').trim().replace(/;$/, '').replace(/ with grant option$/i, '');
    let m: RegExpExecArray | null;
    // a role granted to a user (one service user per function): the model checks what roles may do
    if (new RegExp(`^grant role (${word}) to user (${word})$`, 'i').test(sql)) return;
    if ((m = new RegExp(`^grant role (${word}) to role (${word})$`, 'i').exec(sql))) {
      const child = (m[1] as string).toUpperCase();
      const parents = this.parents.get(child) ?? new Set<string>();
      parents.add((m[2] as string).toUpperCase());
      this.parents.set(child, parents);
      return;
    }
    if ((m = new RegExp(`^grant (.+?) on (future|all) (tables|views) in schema (${name}) to role (${word})$`, 'i').exec(sql))) {
      const privileges = privilegeList(m[1] as string);
      const kind: Kind = (m[3] as string).toUpperCase() === 'TABLES' ? 'TABLE' : 'VIEW';
      const schema = this.qualify(m[4] as string, 2);
      const role = (m[5] as string).toUpperCase();
      if ((m[2] as string).toLowerCase() === 'future') {
        add(this.future, `${kind} ${schema}`, role, privileges);
      } else {
        for (const [objName, obj] of this.objects) if (obj.kind === kind && objName.startsWith(`${schema}.`)) addTo(obj.grants, role, privileges);
      }
      return;
    }
    if ((m = new RegExp(`^grant (.+?) on (warehouse|database|schema|integration|stage|file format|function|pipe|masking policy|table|view) (${name})(?: ?\\(.*\\))? to role (${word})$`, 'i').exec(sql))) {
      const kind = (m[2] as string).toUpperCase();
      const privileges = privilegeList(m[1] as string);
      const role = (m[4] as string).toUpperCase();
      const parts = kind === 'WAREHOUSE' || kind === 'DATABASE' || kind === 'INTEGRATION' ? 1 : kind === 'SCHEMA' ? 2 : 3;
      const target = this.qualify(m[3] as string, parts);
      const obj = this.objects.get(target);
      if ((kind === 'TABLE' || kind === 'VIEW') && obj) addTo(obj.grants, role, privileges);
      else add(this.plain, `${kind} ${target}`, role, privileges);
      return;
    }
    if (/^grant\b/i.test(sql)) throw new Error(`access model: a GRANT it cannot read: ${sql}`);

    if ((m = new RegExp(`^create (or replace )?(?:secure )?view (?:if not exists )?(${name})( copy grants)? as\\b`, 'i').exec(sql))) {
      const target = this.qualify(m[2] as string, 3);
      const existing = this.objects.get(target);
      const copy = Boolean(m[3]);
      const grants = copy ? new Map([...(existing?.grants ?? new Map<string, Set<string>>())].map(([r, p]) => [r, new Set(p)])) : this.futureFor('VIEW', target);
      this.objects.set(target, { kind: 'VIEW', grants });
      return;
    }
    if ((m = new RegExp(`^create (or replace )?(?:transient |temporary )?table (if not exists )?(${name})\\b`, 'i').exec(sql))) {
      const target = this.qualify(m[3] as string, 3);
      if (m[2] && this.objects.has(target)) return;
      // future grants apply to a new table (COPY GRANTS is not used on tables here)
      this.objects.set(target, { kind: 'TABLE', grants: this.futureFor('TABLE', target) });
      return;
    }
    if ((m = new RegExp(`^alter table (${name}) swap with (${name})$`, 'i').exec(sql))) {
      const a = this.qualify(m[1] as string, 3);
      const b = this.qualify(m[2] as string, 3);
      const objA = this.objects.get(a);
      const objB = this.objects.get(b);
      if (!objA || !objB) throw new Error(`access model: SWAP of a table that does not exist: ${sql}`);
      this.objects.set(a, objB);
      this.objects.set(b, objA);
      return;
    }
    if ((m = new RegExp(`^drop (table|view) (?:if exists )?(${name})$`, 'i').exec(sql))) {
      this.objects.delete(this.qualify(m[2] as string, 3));
      return;
    }
    // everything else (USE ROLE, CREATE ROLE/WAREHOUSE/..., ALTER ... SET, MERGE, masking policies) grants nothing
  }

  private futureFor(kind: Kind, object: string): Map<string, Set<string>> {
    const schema = object.split('.').slice(0, 2).join('.');
    return new Map([...(this.future.get(`${kind} ${schema}`) ?? new Map<string, Set<string>>())].map(([r, p]) => [r, new Set(p)]));
  }

  /** The role and every role it inherits from (the roles granted to it, transitively). */
  rolesOf(role: string): Set<string> {
    const out = new Set<string>([role.toUpperCase(), 'PUBLIC']);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [child, parents] of this.parents) {
        if (!out.has(child) && [...parents].some((p) => out.has(p))) {
          out.add(child);
          grew = true;
        }
      }
    }
    return out;
  }

  private holds(roles: Set<string>, grants: Map<string, Set<string>> | undefined, privilege: string): boolean {
    return [...roles].some((r) => {
      const p = grants?.get(r);
      return Boolean(p && (p.has(privilege) || p.has('ALL') || p.has('OWNERSHIP')));
    });
  }

  /** Whether `role` may run `select ... from <object>`, and if not, which privilege is missing. */
  whyNotSelect(role: string, object: string): string | undefined {
    const roles = this.rolesOf(role);
    const target = this.qualify(object, 3);
    const [db, schema] = target.split('.') as [string, string];
    const warehouses = [...this.plain.keys()].filter((k) => k.startsWith('WAREHOUSE '));
    if (!warehouses.some((w) => this.holds(roles, this.plain.get(w), 'USAGE'))) return 'USAGE on a warehouse (no warehouse, no query)';
    if (!this.holds(roles, this.plain.get(`DATABASE ${db}`), 'USAGE')) return `USAGE on database ${db}`;
    if (!this.holds(roles, this.plain.get(`SCHEMA ${db}.${schema}`), 'USAGE')) return `USAGE on schema ${db}.${schema}`;
    const obj = this.objects.get(target);
    if (!obj) return `${target} does not exist`;
    if (!this.holds(roles, obj.grants, 'SELECT')) return `SELECT on ${obj.kind.toLowerCase()} ${target}`;
    return undefined;
  }

  /** Every table and view now: [DB.SCHEMA.NAME, kind]. */
  allObjects(): [string, Kind][] {
    return [...this.objects].map(([n, o]) => [n, o.kind]);
  }

  /** Objects of a schema now, by kind. */
  objectsIn(schema: string, kind: Kind): string[] {
    const prefix = `${this.qualify(schema, 2)}.`;
    return [...this.objects].filter(([n, o]) => o.kind === kind && n.startsWith(prefix)).map(([n]) => n);
  }
}

function privilegeList(text: string): Set<string> {
  return new Set(text.split(',').map((p) => p.trim().toUpperCase().replace(/\s+/g, ' ')));
}

function addTo(grants: Map<string, Set<string>>, role: string, privileges: Set<string>): void {
  const current = grants.get(role) ?? new Set<string>();
  for (const p of privileges) current.add(p);
  grants.set(role, current);
}

function add(map: Map<string, Map<string, Set<string>>>, key: string, role: string, privileges: Set<string>): void {
  const grants = map.get(key) ?? new Map<string, Set<string>>();
  addTo(grants, role, privileges);
  map.set(key, grants);
}
