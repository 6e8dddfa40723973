-- The grants cache's fence and announcements (docs/operations.md#grants-cache): every
-- change that can change a caller's decision bumps `grants_version.n` and announces
-- itself on the channel `portal_grants`, in the changing transaction, so a change made
-- through any instance or straight in SQL is seen by every instance's cache. A cached
-- caller is used only while `n` still equals the version it was read with; the
-- announcement merely frees the entries early. The payload is `<workspace>` (any number
-- of the workspace's users) or `<workspace>:<external user>` (that one user).
-- Only the columns that decisions read fire the triggers: ordinary writes cost nothing.
CREATE TABLE grants_version (n bigint NOT NULL);
CREATE UNIQUE INDEX grants_version_one_row ON grants_version ((true));
INSERT INTO grants_version (n) VALUES (0);

-- Bumps the version and, when the workspace is still known (a cascading delete may
-- have removed it), announces the change.
CREATE FUNCTION grants_changed(workspace uuid, external_user uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grants_version SET n = n + 1;
    IF workspace IS NOT NULL THEN
        PERFORM pg_notify('portal_grants',
            workspace::text || coalesce(':' || external_user::text, ''));
    END IF;
END
$$;

-- roles: activity, expiry, workspace, deletion (a new role is held by nobody yet).
CREATE FUNCTION grants_changed_roles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM grants_changed(OLD.workspace_id, NULL);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.workspace_id IS DISTINCT FROM OLD.workspace_id THEN
        PERFORM grants_changed(NEW.workspace_id, NULL);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER grants_changed_role AFTER UPDATE OF id, workspace_id, active, expires_at ON roles
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
        OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id
        OR OLD.active IS DISTINCT FROM NEW.active
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION grants_changed_roles();
CREATE TRIGGER grants_changed_role_deleted AFTER DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION grants_changed_roles();

-- role_grants: any change of a role's grants, in its role's workspace.
CREATE FUNCTION grants_changed_role_grants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM grants_changed((SELECT r.workspace_id FROM roles r WHERE r.id = OLD.role_id), NULL);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM grants_changed((SELECT r.workspace_id FROM roles r WHERE r.id = NEW.role_id), NULL);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER grants_changed_role_grant AFTER INSERT OR DELETE ON role_grants
    FOR EACH ROW EXECUTE FUNCTION grants_changed_role_grants();
CREATE TRIGGER grants_changed_role_grant_updated AFTER UPDATE ON role_grants
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION grants_changed_role_grants();

-- role_assignments and project_members: one external user's roles.
CREATE FUNCTION grants_changed_user_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM grants_changed(
            (SELECT u.workspace_id FROM external_users u WHERE u.id = OLD.external_user_id),
            OLD.external_user_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM grants_changed(
            (SELECT u.workspace_id FROM external_users u WHERE u.id = NEW.external_user_id),
            NEW.external_user_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER grants_changed_role_assignment AFTER INSERT OR DELETE ON role_assignments
    FOR EACH ROW EXECUTE FUNCTION grants_changed_user_rows();
CREATE TRIGGER grants_changed_role_assignment_updated AFTER UPDATE ON role_assignments
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION grants_changed_user_rows();
CREATE TRIGGER grants_changed_project_member AFTER INSERT OR DELETE ON project_members
    FOR EACH ROW EXECUTE FUNCTION grants_changed_user_rows();
CREATE TRIGGER grants_changed_project_member_updated AFTER UPDATE ON project_members
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION grants_changed_user_rows();

-- projects: the tree that project organizations follow (docs/permissions.md#project-organizations).
-- A new top-level project has no members yet; a new sub-project may inherit its
-- parent's organization. Scope columns (account, sharing, archived) are read per
-- request, never cached, and do not fire.
CREATE FUNCTION grants_changed_projects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM grants_changed(OLD.workspace_id, NULL);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.workspace_id IS DISTINCT FROM OLD.workspace_id) THEN
        PERFORM grants_changed(NEW.workspace_id, NULL);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER grants_changed_project_inserted AFTER INSERT ON projects
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL)
    EXECUTE FUNCTION grants_changed_projects();
CREATE TRIGGER grants_changed_project AFTER UPDATE OF id, parent_id, own_organization, workspace_id ON projects
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
        OR OLD.parent_id IS DISTINCT FROM NEW.parent_id
        OR OLD.own_organization IS DISTINCT FROM NEW.own_organization
        OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id)
    EXECUTE FUNCTION grants_changed_projects();
CREATE TRIGGER grants_changed_project_deleted AFTER DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION grants_changed_projects();

-- external_users: portal access, its end, account, workspace, and who they are.
CREATE FUNCTION grants_changed_external_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM grants_changed(OLD.workspace_id, OLD.id);
    IF TG_OP = 'UPDATE' AND NEW.workspace_id IS DISTINCT FROM OLD.workspace_id THEN
        PERFORM grants_changed(NEW.workspace_id, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER grants_changed_external_user AFTER UPDATE OF
        id, workspace_id, account_id, portal_access, access_ends_at, name, email ON external_users
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
        OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id
        OR OLD.account_id IS DISTINCT FROM NEW.account_id
        OR OLD.portal_access IS DISTINCT FROM NEW.portal_access
        OR OLD.access_ends_at IS DISTINCT FROM NEW.access_ends_at
        OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION grants_changed_external_users();
CREATE TRIGGER grants_changed_external_user_deleted AFTER DELETE ON external_users
    FOR EACH ROW EXECUTE FUNCTION grants_changed_external_users();

-- workspaces: switched-off modules, deletion. staff_users: admin flag, workspace, who
-- they are (staff are not announced one by one: the payload names external users).
CREATE FUNCTION grants_changed_workspace_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'workspaces' THEN
        PERFORM grants_changed(OLD.id, NULL);
    ELSE
        PERFORM grants_changed(OLD.workspace_id, NULL);
        IF TG_OP = 'UPDATE' AND NEW.workspace_id IS DISTINCT FROM OLD.workspace_id THEN
            PERFORM grants_changed(NEW.workspace_id, NULL);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER grants_changed_workspace AFTER UPDATE OF id, disabled_modules ON workspaces
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
        OR OLD.disabled_modules IS DISTINCT FROM NEW.disabled_modules)
    EXECUTE FUNCTION grants_changed_workspace_rows();
CREATE TRIGGER grants_changed_workspace_deleted AFTER DELETE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION grants_changed_workspace_rows();
CREATE TRIGGER grants_changed_staff_user AFTER UPDATE OF id, workspace_id, is_admin, name, email ON staff_users
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
        OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id
        OR OLD.is_admin IS DISTINCT FROM NEW.is_admin
        OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION grants_changed_workspace_rows();
CREATE TRIGGER grants_changed_staff_user_deleted AFTER DELETE ON staff_users
    FOR EACH ROW EXECUTE FUNCTION grants_changed_workspace_rows();
