-- one row per instance and UTC day of created_at with a finished restore; key (instance_id, day)
-- restores still waiting or restoring are not counted, so a day with only those has no row
with

restores_finished as (
    select
        project_id,
        instance_id,
        created_day,
        is_failed
    from stg_restores
    where is_finished
),

per_day as (
    select
        project_id,
        instance_id,
        created_day as day,
        count(*) as finished,
        count(*) filter (where is_failed) as failed
    from restores_finished
    group by project_id, instance_id, created_day
),

final as (
    select
        project_id,
        instance_id,
        day,
        finished,
        failed,
        cast(failed as double precision) / finished as failure_rate
    from per_day
)

select * from final
