-- the ten longest finished restores (ties broken by restore_id); key restore_id
with

durations as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        error_code,
        created_at,
        updated_at,
        duration_seconds
    from stg_restores
    where is_finished and duration_seconds is not null
),

instance_names as (
    select
        instance_id,
        instance_name
    from stg_instances
),

ranked as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        error_code,
        created_at,
        updated_at,
        duration_seconds,
        row_number() over (order by duration_seconds desc, restore_id) as duration_rank
    from durations
),

final as (
    select
        ranked.duration_rank,
        ranked.restore_id,
        ranked.project_id,
        ranked.instance_id,
        instance_names.instance_name,
        ranked.status,
        ranked.error_code,
        ranked.created_at,
        ranked.updated_at,
        ranked.duration_seconds
    from ranked
    left join instance_names
        on ranked.instance_id = instance_names.instance_id
    where ranked.duration_rank <= 10
)

select * from final
