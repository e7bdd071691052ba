-- severity: {{ freshness_severity }}
-- description: the newest transaction is at most {{ freshness_max_age_hours }} h older than the newest transactions file arrival
--
-- Arrival is when the object store says the file was written (its Last-Modified; the load time when
-- unknown), for the loads of the rebuild's cut (the time a notification claims is never used).
-- Threshold: FRESHNESS_MAX_AGE_HOURS (default 24); severity: FRESHNESS_SEVERITY (warn on the sample
-- data, error in production). No loaded transactions file at all is a failure too.

with

arrivals as (

    select max(coalesce(u.last_modified, u.recorded_at)) as newest_arrival_at
    from raw.unit_loads as u
    inner join raw.cut_loads as c on c.load_id = u.load_id
    where u.dataset = 'transactions'

),

purchases as (

    select max(purchased_at) as newest_purchase_at
    from staging.stg_transactions

),

final as (

    select
        arrivals.newest_arrival_at,
        purchases.newest_purchase_at,
        {{ freshness_max_age_hours }} as max_age_hours
    from arrivals
    cross join purchases
    where arrivals.newest_arrival_at is null
       or purchases.newest_purchase_at is null
       or purchases.newest_purchase_at
            < arrivals.newest_arrival_at - interval '{{ freshness_max_age_minutes }} minutes'

)

select * from final
