//! Diesel tables, written once from `migrations/` and checked against them by
//! `tests/schema_drift.rs` (every table is selected with every column).

diesel::table! {
    workspaces (id) {
        id -> Uuid,
        name -> Text,
        disabled_modules -> Array<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    staff_users (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        email -> Text,
        name -> Text,
        is_admin -> Bool,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        website -> Nullable<Text>,
        address -> Nullable<Text>,
        industry -> Nullable<Text>,
        description -> Nullable<Text>,
        owner_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    external_users (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        account_id -> Uuid,
        email -> Text,
        name -> Text,
        portal_access -> Bool,
        access_ends_at -> Nullable<Timestamptz>,
        password_hash -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    roles (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        active -> Bool,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    role_grants (role_id, module) {
        role_id -> Uuid,
        module -> Text,
        fields -> Array<Text>,
        relations -> Array<Text>,
        actions -> Array<Text>,
        notifications -> Array<Text>,
    }
}

diesel::table! {
    role_assignments (role_id, external_user_id) {
        role_id -> Uuid,
        external_user_id -> Uuid,
    }
}

diesel::table! {
    project_stages (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        position -> Int4,
    }
}

diesel::table! {
    projects (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        account_id -> Nullable<Uuid>,
        parent_id -> Nullable<Uuid>,
        name -> Text,
        description -> Nullable<Text>,
        status -> Text,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        progress -> Nullable<Int4>,
        stage_id -> Nullable<Uuid>,
        owner_id -> Nullable<Uuid>,
        own_organization -> Bool,
        shared_with_account -> Bool,
        archived -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    project_members (project_id, external_user_id) {
        project_id -> Uuid,
        external_user_id -> Uuid,
        role_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    budgets (project_id) {
        project_id -> Uuid,
        amount_cents -> Int8,
        spent_cents -> Int8,
        currency -> Text,
        client_access -> Bool,
    }
}

diesel::table! {
    tasks (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        project_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        status -> Text,
        priority -> Text,
        due_date -> Nullable<Date>,
        estimated_hours -> Nullable<Float8>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        assignee_id -> Nullable<Uuid>,
        owner_id -> Nullable<Uuid>,
        created_by_external_id -> Nullable<Uuid>,
        internal -> Bool,
    }
}

diesel::table! {
    comments (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        task_id -> Uuid,
        body -> Text,
        created_at -> Timestamptz,
        internal -> Bool,
        author_staff_id -> Nullable<Uuid>,
        author_external_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    invoices (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        account_id -> Uuid,
        project_id -> Nullable<Uuid>,
        number -> Text,
        kind -> Text,
        status -> Text,
        issue_date -> Nullable<Date>,
        due_date -> Nullable<Date>,
        total_cents -> Int8,
        currency -> Text,
        paid_cents -> Int8,
        converted_from_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invoice_lines (id) {
        id -> Uuid,
        invoice_id -> Uuid,
        position -> Int4,
        description -> Text,
        quantity -> Float8,
        unit_price_cents -> Int8,
        amount_cents -> Int8,
    }
}

diesel::table! {
    kb_articles (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        title -> Text,
        body -> Text,
        category -> Nullable<Text>,
        updated_at -> Timestamptz,
        author_id -> Nullable<Uuid>,
        published -> Bool,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        at -> Timestamptz,
        external_user_id -> Nullable<Uuid>,
        account_id -> Nullable<Uuid>,
        preview_by -> Nullable<Uuid>,
        operation_name -> Nullable<Text>,
        operation_type -> Text,
        root_fields -> Array<Text>,
        record_ids -> Array<Uuid>,
        outcome -> Text,
    }
}

diesel::table! {
    portal_events (seq) {
        seq -> Int8,
        id -> Uuid,
        kind -> Text,
        workspace_id -> Uuid,
        occurred_at -> Timestamptz,
        project_id -> Nullable<Uuid>,
        task_id -> Nullable<Uuid>,
        comment_id -> Nullable<Uuid>,
        invoice_id -> Nullable<Uuid>,
        article_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    notification_reads (external_user_id, event_id) {
        external_user_id -> Uuid,
        event_id -> Uuid,
        read_at -> Timestamptz,
    }
}

diesel::joinable!(projects -> accounts (account_id));
diesel::joinable!(tasks -> projects (project_id));
diesel::joinable!(comments -> tasks (task_id));
diesel::joinable!(role_grants -> roles (role_id));
diesel::joinable!(role_assignments -> roles (role_id));
diesel::joinable!(project_members -> roles (role_id));
diesel::joinable!(invoice_lines -> invoices (invoice_id));

diesel::allow_tables_to_appear_in_same_query!(
    workspaces,
    staff_users,
    accounts,
    external_users,
    roles,
    role_grants,
    role_assignments,
    project_stages,
    projects,
    project_members,
    budgets,
    tasks,
    comments,
    invoices,
    invoice_lines,
    kb_articles,
    audit_events,
    portal_events,
    notification_reads,
);
