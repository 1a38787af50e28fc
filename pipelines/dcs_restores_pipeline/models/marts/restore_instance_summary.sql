-- one row per instance that has at least one restore; key instance_id
-- failure_rate and the percentiles are null while an instance has no finished restore
with

restores_all as (
    select
        project_id,
        instance_id,
        created_at,
        is_in_progress,
        is_finished,
        is_failed
    from stg_restores
),

percentiles as (
    select
        instance_id,
        p50_duration_seconds,
        p95_duration_seconds,
        max_duration_seconds
    from restore_duration_percentiles
),

instance_names as (
    select
        instance_id,
        instance_name
    from stg_instances
),

counts as (
    select
        project_id,
        instance_id,
        count(*) as count_restores,
        count(*) filter (where is_in_progress) as count_in_progress,
        count(*) filter (where is_finished) as count_finished,
        count(*) filter (where is_failed) as count_failed,
        -- statuses outside the documented four
        count(*) filter (where not is_in_progress and not is_finished) as count_other_status,
        max(created_at) as last_restore_at
    from restores_all
    group by project_id, instance_id
),

final as (
    select
        counts.project_id,
        counts.instance_id,
        instance_names.instance_name,
        counts.count_restores,
        counts.count_in_progress,
        counts.count_finished,
        counts.count_failed,
        counts.count_other_status,
        cast(counts.count_failed as double precision)
        / nullif(counts.count_finished, 0) as failure_rate,
        percentiles.p50_duration_seconds,
        percentiles.p95_duration_seconds,
        percentiles.max_duration_seconds,
        counts.last_restore_at
    from counts
    left join percentiles
        on counts.instance_id = percentiles.instance_id
    left join instance_names
        on counts.instance_id = instance_names.instance_id
)

select * from final
