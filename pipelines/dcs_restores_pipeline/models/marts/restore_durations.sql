-- one row per finished (succeed or failed) restore; key restore_id
-- duration_seconds is null when a finished restore has no updated_at, or one before created_at
with

restores_finished as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        created_at,
        updated_at,
        duration_seconds
    from stg_restores
    where is_finished
),

final as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        created_at,
        updated_at,
        duration_seconds
    from restores_finished
)

select * from final
