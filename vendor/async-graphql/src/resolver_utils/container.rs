use std::{future::Future, pin::Pin, sync::Arc};

use futures_util::{FutureExt, StreamExt as _, stream::FuturesUnordered};
use indexmap::IndexMap;

use crate::{
    Context, ContextBase, ContextSelectionSet, Error, Name, OutputType, ServerError, ServerResult,
    Value, extensions::ResolveInfo, parser::types::Selection,
};

/// Represents a GraphQL container object.
///
/// This helper trait allows the type to call `resolve_container` on itself in
/// its `OutputType::resolve` implementation.
#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
pub trait ContainerType: OutputType {
    /// This function returns true of type `EmptyMutation` only.
    #[doc(hidden)]
    fn is_empty() -> bool {
        false
    }

    /// Resolves a field value and outputs it as a json value
    /// `async_graphql::Value`.
    ///
    /// If the field was not found returns None.
    #[cfg(feature = "boxed-trait")]
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>>;

    /// Resolves a field value and outputs it as a json value
    /// `async_graphql::Value`.
    ///
    /// If the field was not found returns None.
    #[cfg(not(feature = "boxed-trait"))]
    fn resolve_field(
        &self,
        ctx: &Context<'_>,
    ) -> impl Future<Output = ServerResult<Option<Value>>> + Send;

    /// Collect all the fields of the container that are queried in the
    /// selection set.
    ///
    /// Objects do not have to override this, but interfaces and unions must
    /// call it on their internal type.
    fn collect_all_fields<'a>(
        &'a self,
        ctx: &ContextSelectionSet<'a>,
        fields: &mut Fields<'a>,
    ) -> ServerResult<()>
    where
        Self: Send + Sync,
    {
        fields.add_set(ctx, self)
    }

    /// Find the GraphQL entity with the given name from the parameter.
    ///
    /// Objects should override this in case they are the query root.
    #[cfg(feature = "boxed-trait")]
    async fn find_entity(&self, _: &Context<'_>, _: &Value) -> ServerResult<Option<Value>> {
        Ok(None)
    }

    /// Find the GraphQL entity with the given name from the parameter.
    ///
    /// Objects should override this in case they are the query root.
    #[cfg(not(feature = "boxed-trait"))]
    fn find_entity(
        &self,
        _: &Context<'_>,
        _params: &Value,
    ) -> impl Future<Output = ServerResult<Option<Value>>> + Send {
        async { Ok(None) }
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for &T {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(*self, ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(*self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for Arc<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(self, ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType + ?Sized> ContainerType for Box<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        T::resolve_field(self, ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        T::find_entity(self, ctx, params).await
    }
}

#[cfg_attr(feature = "boxed-trait", async_trait::async_trait)]
impl<T: ContainerType, E: Into<Error> + Send + Sync + Clone> ContainerType for Result<T, E> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        match self {
            Ok(value) => T::resolve_field(value, ctx).await,
            Err(err) => Err(ctx.set_error_path(err.clone().into().into_server_error(ctx.item.pos))),
        }
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        match self {
            Ok(value) => T::find_entity(value, ctx, params).await,
            Err(err) => Err(ctx.set_error_path(err.clone().into().into_server_error(ctx.item.pos))),
        }
    }
}

/// Resolve an container by executing each of the fields concurrently.
pub async fn resolve_container<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    // portal-gateway patch: boxed, so that the future of a field whose value is an
    // object holds a pointer rather than the object's whole resolution inline; every
    // field future of the parent type was as large as its largest such field.
    Box::pin(resolve_container_inner(ctx, root, true)).await
}

/// Resolve an container by executing each of the fields serially.
pub async fn resolve_container_serial<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    resolve_container_inner(ctx, root, false).await
}

fn insert_value(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    // portal-gateway patch: one lookup per field (upstream hashed the key twice, for
    // `get_mut` and again for `insert`).
    let prev_value = match target.entry(name) {
        indexmap::map::Entry::Occupied(entry) => entry.into_mut(),
        indexmap::map::Entry::Vacant(entry) => {
            entry.insert(value);
            return;
        }
    };
    if let Value::Object(target_map) = prev_value {
        if let Value::Object(obj) = value {
            for (key, value) in obj.into_iter() {
                insert_value(target_map, key, value);
            }
        }
    } else if let Value::List(target_list) = prev_value
        && let Value::List(list) = value
    {
        for (idx, value) in list.into_iter().enumerate() {
            if let Some(Value::Object(target_map)) = target_list.get_mut(idx)
                && let Value::Object(obj) = value
            {
                for (key, value) in obj.into_iter() {
                    insert_value(target_map, key, value);
                }
            }
        }
    }
}

async fn resolve_container_inner<'a, T: ContainerType + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    parallel: bool,
) -> ServerResult<Value> {
    // portal-gateway patch: room for the selection's fields at once (fragments may add).
    let mut fields = Fields(Vec::with_capacity(ctx.item.node.items.len()));
    fields.add_set(ctx, root)?;

    Ok(do_resolve_fields(ctx, parallel, fields.0).await)
}

// portal-gateway patch (vendor/async-graphql/PATCH.md): the fields of a container are
// resolved concurrently as before (one `FuturesUnordered`, so a wake polls only the field
// it is for), but each result goes to its field's slot and they are written in selection
// order (upstream wrote them as they finished, async-graphql/async-graphql#612); and a
// field whose resolver failed is `null` in its place (upstream left its key out).

type Outcome = ServerResult<(Name, Value)>;

/// A field of a container: its future until it is ready, then its outcome.
pub(crate) enum Slot<'a> {
    Pending(BoxFieldFuture<'a>),
    /// Moved to the `FuturesUnordered`, whose outcome comes back here.
    Running,
    Ready(Outcome),
}

/// Resolves `slots` in place, concurrently or one after the other: each ends `Ready`.
async fn resolve_slots<'a, S>(parallel: bool, slots: &mut [S], slot: impl Fn(&mut S) -> &mut Slot<'a>) {
    if !parallel {
        for s in slots.iter_mut() {
            let s = slot(s);
            if let Slot::Pending(fut) = std::mem::replace(s, Slot::Running) {
                *s = Slot::Ready(fut.await);
            }
        }
        return;
    }
    // Each field is polled once in place first: most (scalars read from their row) are
    // ready at once and never enter a `FuturesUnordered`, whose task, queue and waker per
    // field cost more than the field itself; an object all of whose fields are ready
    // never builds one. The others then resolve concurrently there; their first poll
    // registered this task's waker too, which at worst wakes it once for nothing.
    let mut pending = 0;
    std::future::poll_fn(|cx| {
        for s in slots.iter_mut() {
            let s = slot(s);
            if let Slot::Pending(fut) = s {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(outcome) => *s = Slot::Ready(outcome),
                    std::task::Poll::Pending => pending += 1,
                }
            }
        }
        std::task::Poll::Ready(())
    })
    .await;
    if pending == 0 {
        return;
    }
    let mut set = FuturesUnordered::new();
    for (i, s) in slots.iter_mut().enumerate() {
        let s = slot(s);
        if matches!(s, Slot::Pending(_))
            && let Slot::Pending(fut) = std::mem::replace(s, Slot::Running)
        {
            set.push(fut.map(move |outcome| (i, outcome)));
        }
    }
    while let Some((i, outcome)) = set.next().await {
        if let Some(s) = slots.get_mut(i) {
            *slot(s) = Slot::Ready(outcome);
        }
    }
}

/// Resolves named fields and writes them in selection order; a failed field's error is
/// recorded and the field is `null`.
pub(crate) async fn do_resolve_fields<'a>(
    ctx: &ContextSelectionSet<'a>,
    parallel: bool,
    mut fields: Vec<(Name, Slot<'a>)>,
) -> Value {
    resolve_slots(parallel, &mut fields, |(_, slot)| slot).await;

    // An object none of whose fields resolved is `null`, as upstream answers it; the
    // root (no path) is an object whatever failed, each failed root field `null`.
    let is_root = ctx.path_node.is_none();
    if !is_root && !fields.iter().any(|(_, s)| matches!(s, Slot::Ready(Ok(_)))) {
        for (_, s) in fields {
            if let Slot::Ready(Err(e)) = s {
                ctx.add_error(e);
            }
        }
        return Value::Null;
    }
    let mut results = IndexMap::with_capacity(fields.len());
    for (key, s) in fields {
        match s {
            Slot::Ready(Ok((name, value))) => insert_value(&mut results, name, value),
            Slot::Ready(Err(e)) => {
                ctx.add_error(e);
                if !results.contains_key(&key) {
                    results.insert(key, Value::Null);
                }
            }
            Slot::Pending(_) | Slot::Running => {}
        }
    }

    if results.is_empty() {
        Value::Null
    } else {
        Value::Object(results)
    }
}

/// Resolves fields and writes them in selection order (used by the dynamic schema,
/// whose fields carry no name before they resolve).
#[allow(dead_code)]
pub(crate) async fn do_resolve_container<'a>(
    ctx: &ContextSelectionSet<'a>,
    parallel: bool,
    futures: Vec<BoxFieldFuture<'a>>,
) -> Value {
    let mut slots: Vec<Slot<'a>> = futures.into_iter().map(Slot::Pending).collect();
    resolve_slots(parallel, &mut slots, |s| s).await;
    let mut results = IndexMap::with_capacity(slots.len());
    for s in slots {
        match s {
            Slot::Ready(Ok((name, value))) => insert_value(&mut results, name, value),
            Slot::Ready(Err(e)) => ctx.add_error(e),
            Slot::Pending(_) | Slot::Running => {}
        }
    }

    if results.is_empty() {
        Value::Null
    } else {
        Value::Object(results)
    }
}

type BoxFieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<(Name, Value)>> + 'a + Send>>;

/// A set of fields on an container that are being selected, each with its response key.
pub struct Fields<'a>(Vec<(Name, Slot<'a>)>);

impl<'a> Fields<'a> {
    /// Add another set of fields to this set of fields using the given
    /// container.
    pub fn add_set<T: ContainerType + ?Sized>(
        &mut self,
        ctx: &ContextSelectionSet<'a>,
        root: &'a T,
    ) -> ServerResult<()> {
        for selection in &ctx.item.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.name.node == "__typename" {
                        // Get the typename
                        let ctx_field = ctx.with_field(field);
                        let field_name = ctx_field.item.node.response_key().node.clone();
                        let typename = root.introspection_type_name().into_owned();

                        self.0.push((
                            field_name.clone(),
                            Slot::Ready(Ok((field_name, Value::String(typename)))),
                        ));
                        continue;
                    }

                    let extensions = &ctx.query_env.extensions;
                    let composite = !field.node.selection_set.node.items.is_empty();
                    let hooked = !extensions.is_empty()
                        && (extensions.resolve_leaf()
                            || (composite && extensions.resolve_composite()));
                    // portal-gateway patch: a field that no extension or directive wraps
                    // gets a future of its own, a third smaller than one that could take
                    // either path (each field is boxed at the size of its future). The
                    // extensions see a composite field of it through their synchronous
                    // `enter_composite` and `leave_composite`.
                    if !hooked && field.node.directives.is_empty() {
                        let ctx = ctx.clone();
                        let seen = composite && !extensions.is_empty();
                        self.0.push((
                            field.node.response_key().node.clone(),
                            Slot::Pending(Box::pin(async move {
                                let extensions = &ctx.query_env.extensions;
                                if seen {
                                    extensions.enter_composite()?;
                                }
                                let ctx_field = ctx.with_field(field);
                                let value = root.resolve_field(&ctx_field).await?.unwrap_or_default();
                                let field_name = ctx_field.item.node.response_key().node.clone();
                                if seen {
                                    extensions.leave_composite(&field_name, &value)?;
                                }
                                Ok((field_name, value))
                            })),
                        ));
                        continue;
                    }

                    let resolve_fut = Box::pin({
                        let ctx = ctx.clone();
                        async move {
                            let ctx_field = ctx.with_field(field);
                            let field_name = ctx_field.item.node.response_key().node.clone();
                            let extensions = &ctx.query_env.extensions;
                            {
                                let type_name = T::type_name();
                                let resolve_info = ResolveInfo {
                                    path_node: ctx_field.path_node.as_ref().unwrap(),
                                    parent_type: &type_name,
                                    return_type: match ctx_field
                                        .schema_env
                                        .registry
                                        .types
                                        .get(type_name.as_ref())
                                        .and_then(|ty| {
                                            ty.field_by_name(field.node.name.node.as_str())
                                        })
                                        .map(|field| &field.ty)
                                    {
                                        Some(ty) => &ty,
                                        None => {
                                            return Err(ServerError::new(
                                                format!(
                                                    r#"Cannot query field "{}" on type "{}"."#,
                                                    field_name, type_name
                                                ),
                                                Some(ctx_field.item.pos),
                                            ));
                                        }
                                    },
                                    name: field.node.name.node.as_str(),
                                    alias: field
                                        .node
                                        .alias
                                        .as_ref()
                                        .map(|alias| alias.node.as_str()),
                                    is_for_introspection: ctx_field.is_for_introspection,
                                    field: &field.node,
                                };

                                let resolve_fut = root.resolve_field(&ctx_field);

                                if field.node.directives.is_empty() {
                                    futures_util::pin_mut!(resolve_fut);
                                    Ok((
                                        field_name,
                                        extensions
                                            .resolve(resolve_info, &mut resolve_fut)
                                            .await?
                                            .unwrap_or_default(),
                                    ))
                                } else {
                                    let mut resolve_fut = resolve_fut.boxed();

                                    for directive in &field.node.directives {
                                        if let Some(directive_factory) = ctx
                                            .schema_env
                                            .custom_directives
                                            .get(directive.node.name.node.as_str())
                                        {
                                            let ctx_directive = ContextBase {
                                                path_node: ctx_field.path_node,
                                                is_for_introspection: false,
                                                item: directive,
                                                schema_env: ctx_field.schema_env,
                                                query_env: ctx_field.query_env,
                                                execute_data: ctx_field.execute_data,
                                            };
                                            let directive_instance = directive_factory
                                                .create(&ctx_directive, &directive.node)?;
                                            resolve_fut = Box::pin({
                                                let ctx_field = ctx_field.clone();
                                                async move {
                                                    directive_instance
                                                        .resolve_field(&ctx_field, &mut resolve_fut)
                                                        .await
                                                }
                                            });
                                        }
                                    }

                                    Ok((
                                        field_name,
                                        extensions
                                            .resolve(resolve_info, &mut resolve_fut)
                                            .await?
                                            .unwrap_or_default(),
                                    ))
                                }
                            }
                        }
                    });

                    self.0.push((
                        field.node.response_key().node.clone(),
                        Slot::Pending(resolve_fut),
                    ));
                }
                selection => {
                    let (type_condition, selection_set) = match selection {
                        Selection::Field(_) => unreachable!(),
                        Selection::FragmentSpread(spread) => {
                            let fragment =
                                ctx.query_env.fragments.get(&spread.node.fragment_name.node);
                            let fragment = match fragment {
                                Some(fragment) => fragment,
                                None => {
                                    return Err(ServerError::new(
                                        format!(
                                            r#"Unknown fragment "{}"."#,
                                            spread.node.fragment_name.node
                                        ),
                                        Some(spread.pos),
                                    ));
                                }
                            };
                            (
                                Some(&fragment.node.type_condition),
                                &fragment.node.selection_set,
                            )
                        }
                        Selection::InlineFragment(fragment) => (
                            fragment.node.type_condition.as_ref(),
                            &fragment.node.selection_set,
                        ),
                    };
                    let type_condition =
                        type_condition.map(|condition| condition.node.on.node.as_str());

                    let introspection_type_name = root.introspection_type_name();

                    let applies_concrete_object = type_condition.is_some_and(|condition| {
                        introspection_type_name == condition
                            || ctx
                                .schema_env
                                .registry
                                .implements
                                .get(&*introspection_type_name)
                                .is_some_and(|interfaces| interfaces.contains(condition))
                    });
                    if applies_concrete_object {
                        root.collect_all_fields(&ctx.with_selection_set(selection_set), self)?;
                    } else if type_condition.is_none_or(|condition| T::type_name() == condition) {
                        // The fragment applies to an interface type.
                        self.add_set(&ctx.with_selection_set(selection_set), root)?;
                    }
                }
            }
        }
        Ok(())
    }
}
