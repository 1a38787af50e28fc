-- one row per UTC week (starting Monday) of created_at with at least one restore; key week_start
-- failure_rate and p50 are null for a week whose restores are all still in progress
with

restores_all as (
    select
        created_week,
        is_in_progress,
        is_finished,
        is_failed,
        duration_seconds
    from stg_restores
),

per_week as (
    select
        created_week as week_start,
        count(*) as count_restores,
        count(*) filter (where is_in_progress) as count_in_progress,
        count(*) filter (where is_finished) as count_finished,
        count(*) filter (where is_failed) as count_failed,
        -- duration_seconds is null unless finished, so only finished restores enter the median
        percentile_cont(0.5) within group (order by duration_seconds) as p50_duration_seconds
    from restores_all
    group by created_week
),

final as (
    select
        week_start,
        count_restores,
        count_in_progress,
        count_finished,
        count_failed,
        cast(count_failed as double precision) / nullif(count_finished, 0) as failure_rate,
        p50_duration_seconds
    from per_week
)

select * from final
