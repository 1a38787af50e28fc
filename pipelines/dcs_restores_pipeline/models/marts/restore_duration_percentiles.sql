-- one row per instance with at least one finished restore; key instance_id
-- durations of failed restores (time until failure) count as well as successful ones
with

durations as (
    select
        project_id,
        instance_id,
        duration_seconds
    from restore_durations
),

instance_names as (
    select
        instance_id,
        instance_name
    from stg_instances
),

per_instance as (
    select
        project_id,
        instance_id,
        count(*) as count_finished,
        count(duration_seconds) as count_with_duration,
        percentile_cont(0.5) within group (order by duration_seconds) as p50_duration_seconds,
        percentile_cont(0.95) within group (order by duration_seconds) as p95_duration_seconds,
        max(duration_seconds) as max_duration_seconds
    from durations
    group by project_id, instance_id
),

final as (
    select
        per_instance.project_id,
        per_instance.instance_id,
        instance_names.instance_name,
        per_instance.count_finished,
        per_instance.count_with_duration,
        per_instance.p50_duration_seconds,
        per_instance.p95_duration_seconds,
        per_instance.max_duration_seconds
    from per_instance
    left join instance_names
        on per_instance.instance_id = instance_names.instance_id
)

select * from final
