-- one row per instance listed (instances) or seen in restores, restored or not; key instance_id
-- "last" means newest by created_at (ties: the larger restore_id). last_successful_restore_at is
-- the created_at of the newest succeeded restore created at most 1 hour after stg_clock's now;
-- days_since_successful_restore = (now - it) / 86400, fractional, 0 at least, null when it
-- never succeeded. consecutive_failed_restores: the failed restores before the newest
-- succeeded one among finished restores, newest first (all of them when none succeeded).
-- newest_restorable_backup_at: created_at of the newest backup with status succeed and
-- is_support_restore true created at most 1 hour after now; rpo_exposure_seconds = now - it,
-- 0 at least, null when there is none. A server may date a record ahead of the clock (the
-- loader keeps up to 366 days ahead): beyond an hour of clock skew such a record would make
-- an age negative and hide an older, real one, so it is not taken as the newest. p50/p95 are
-- of succeeded restores only: the time a recovery that works takes
with

clock as (
    select now_at
    from stg_clock
),

restores_all as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        created_at,
        is_in_progress,
        is_finished,
        duration_seconds
    from stg_restores
),

instance_names as (
    select
        instance_id,
        project_id,
        instance_name
    from stg_instances
),

backups_restorable as (
    select
        instance_id,
        created_at
    from stg_backups
    where is_restorable
),

known as (
    select
        instance_id,
        project_id
    from instance_names
    where instance_id is not null
    union
    select
        instance_id,
        project_id
    from restores_all
    where instance_id is not null
),

-- an instance listed with one project and restored with another keeps the listed one
instances_known as (
    select
        known.instance_id,
        coalesce(max(instance_names.project_id), max(known.project_id)) as project_id
    from known
    left join instance_names
        on known.instance_id = instance_names.instance_id
    group by known.instance_id
),

ranked as (
    select
        instance_id,
        status,
        created_at,
        is_finished,
        row_number() over (
            partition by instance_id order by created_at desc, restore_id desc
        ) as newest_rank,
        case
            when is_finished
                then row_number() over (
                    partition by instance_id, is_finished
                    order by created_at desc, restore_id desc
                )
        end as finished_rank
    from restores_all
),

per_instance as (
    select
        instance_id,
        count(*) as count_restores,
        max(created_at) as last_restore_at,
        max(case when newest_rank = 1 then status end) as last_restore_status,
        max(
            case when status = 'succeed' and created_at <= clock.now_at + interval '1 hour'
                then created_at
            end
        ) as last_successful_restore_at,
        count(*) filter (where is_finished) as count_finished,
        min(finished_rank) filter (where status = 'succeed') as newest_success_rank
    from ranked
    cross join clock
    group by instance_id
),

open_counts as (
    select
        instance_id,
        count(*) filter (where is_in_progress) as open_restores
    from restores_all
    group by instance_id
),

durations as (
    select
        instance_id,
        percentile_cont(0.5) within group (order by duration_seconds) as p50_duration_seconds,
        percentile_cont(0.95) within group (order by duration_seconds) as p95_duration_seconds
    from restores_all
    where status = 'succeed' and duration_seconds is not null
    group by instance_id
),

newest_backup as (
    select
        instance_id,
        max(backups_restorable.created_at) as newest_restorable_backup_at
    from backups_restorable
    cross join clock
    where backups_restorable.created_at <= clock.now_at + interval '1 hour'
    group by instance_id
),

final as (
    select
        instances_known.project_id,
        instances_known.instance_id,
        instance_names.instance_name,
        coalesce(per_instance.count_restores, 0) as count_restores,
        per_instance.last_restore_at,
        per_instance.last_restore_status,
        per_instance.last_successful_restore_at,
        case
            when isfinite(per_instance.last_successful_restore_at)
                then greatest(
                    cast(
                        round(
                            extract(epoch from clock.now_at)
                            - extract(epoch from per_instance.last_successful_restore_at),
                            3
                        )
                        as double precision
                    ),
                    0
                ) / 86400
        end as days_since_successful_restore,
        coalesce(
            per_instance.newest_success_rank - 1, per_instance.count_finished, 0
        ) as consecutive_failed_restores,
        coalesce(open_counts.open_restores, 0) as open_restores,
        newest_backup.newest_restorable_backup_at,
        case
            when isfinite(newest_backup.newest_restorable_backup_at)
                then greatest(
                    cast(
                        round(
                            extract(epoch from clock.now_at)
                            - extract(epoch from newest_backup.newest_restorable_backup_at),
                            3
                        )
                        as double precision
                    ),
                    0
                )
        end as rpo_exposure_seconds,
        durations.p50_duration_seconds,
        durations.p95_duration_seconds
    from instances_known
    cross join clock
    left join instance_names
        on instances_known.instance_id = instance_names.instance_id
    left join per_instance
        on instances_known.instance_id = per_instance.instance_id
    left join open_counts
        on instances_known.instance_id = open_counts.instance_id
    left join durations
        on instances_known.instance_id = durations.instance_id
    left join newest_backup
        on instances_known.instance_id = newest_backup.instance_id
)

select * from final
