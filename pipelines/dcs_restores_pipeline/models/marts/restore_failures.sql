-- one row per failed restore, with the documented meaning of its error code; key restore_id
-- meaning is null when the code is missing or not in the API reference
with

restores_failed as (
    select
        restore_id,
        project_id,
        instance_id,
        error_code,
        created_at,
        updated_at
    from stg_restores
    where is_failed
),

error_codes as (
    select
        error_code,
        meaning
    from restore_error_codes
),

final as (
    select
        restores_failed.restore_id,
        restores_failed.project_id,
        restores_failed.instance_id,
        restores_failed.error_code,
        error_codes.meaning,
        error_codes.error_code is not null as is_documented_code,
        restores_failed.created_at,
        restores_failed.updated_at
    from restores_failed
    left join error_codes
        on restores_failed.error_code = error_codes.error_code
)

select * from final
