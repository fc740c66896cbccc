-- Back to 0019: no groups, no collection sheets. The repayments a sheet posted stay as they were posted (each is an
-- ordinary repayment with its receipt and journal entry); the sheets, their lines, the members and the groups go,
-- and loans lose their group.
DROP FUNCTION post_collection_sheet(bigint, date, jsonb, bigint, text), collection_sheet(bigint, date),
    create_group(text, text, bigint, bigint, integer, text, date, text, bigint),
    update_group(bigint, text, bigint, integer, text, date, text, bigint), close_group(bigint, bigint),
    add_group_member(bigint, bigint, text, date, bigint), remove_group_member(bigint, date, bigint),
    next_meeting_date(bigint, date), group_meeting_dates(bigint, date, date);
DROP TRIGGER loans_check_group ON loans;
DROP FUNCTION loans_check_group();
DROP INDEX loans_group_idx;
ALTER TABLE loans DROP COLUMN group_id;
DROP FUNCTION group_visible(bigint);
DROP TABLE collection_sheet_lines, collection_sheets, group_members, groups;
DROP FUNCTION groups_take_branch(), group_members_take_branch(), collection_sheets_take_branch(),
    collection_sheet_lines_take_branch(), group_check_officer(bigint, bigint),
    group_check_meeting(integer, text, date, text), group_check_name(text), group_meeting_text(integer, text),
    group_is_meeting_day(text, date, date), group_next_meeting(text, date, date);
DROP SEQUENCE group_number_seq;
