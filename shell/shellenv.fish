# shellenv for fish: the `shellenv` function, the prompt hook, the prompt segment and expiry warnings.
# Loaded by `shellenv init fish | source`, whose first lines set __shellenv_prog and the [shell] settings.
#
# An ordinary prompt forks nothing: fish has no clock builtin, but the stamp file's mtime IS the keys'
# expiry, so `path mtime` and `path mtime --relative` give the expiry and the time now without a process.
# Internal names start with __shellenv_; SHELLENV_PROMPT_SEGMENT and SHELLENV_PROMPT_STATE are for prompts.

# -- state (kept when this file is sourced again) ------------------------------------------------------------

for __shellenv_var in __shellenv_seen __shellenv_expiry __shellenv_refreshing __shellenv_stamp_tried \
        __shellenv_gone_expiry __shellenv_gone_profile __shellenv_gone_stamp __shellenv_gone_label \
        SHELLENV_PROMPT_SEGMENT SHELLENV_PROMPT_STATE
    set -q $__shellenv_var; or set -g $__shellenv_var ''
end
set -e __shellenv_var
set -q __shellenv_warned; or set -g __shellenv_warned 0
# The clock of the fast path: the file whose mtime tells the time, and the bounds of `path mtime
# --relative` (seconds since that mtime) within which nothing changes. 0 and 0: look at the next prompt.
set -q __shellenv_clock; or set -g __shellenv_clock ''
set -q __shellenv_since; or set -g __shellenv_since 0
set -q __shellenv_until; or set -g __shellenv_until 0
set -g __shellenv_never 9999999999
set -g __shellenv_min_validity 300 # as login.MIN_VALIDITY_SECONDS: cached keys served last this long
set -g __shellenv_window \
    (math "max($__shellenv_warn_before, max($__shellenv_refresh_before, $__shellenv_warn_again))")
set -g __shellenv_has_path 0
builtin -q path 2>/dev/null; and set __shellenv_has_path 1

# -- the command ---------------------------------------------------------------------------------------------

function shellenv --description 'shellenv: short-lived AWS keys in this shell'
    set -lx SHELLENV_SHELL fish
    # The program's own flags may come first (`shellenv -v use NAME`): they go after the verb, which decides
    # what the hook does (otherwise `-v refresh` would print the keys on the terminal instead of setting them).
    set -l flags
    while contains -- "$argv[1]" -v -vv -vvv --verbose --debug
        set -a flags $argv[1]
        set -e argv[1]
    end
    if set -q flags[1]
        if contains -- "$argv[1]" use clear refresh
            set argv $argv[1] $flags $argv[2..-1]
        else
            set argv $flags $argv
        end
    end
    switch "$argv[1]"
        case use
            if __shellenv_asks_help $argv[2..-1]
                command $__shellenv_prog use $argv[2..-1]
                return
            end
            __shellenv_cached_use $argv[2..-1]
            or __shellenv_eval export --shell fish $argv[2..-1]
        case clear
            if __shellenv_asks_help $argv[2..-1]
                command $__shellenv_prog clear $argv[2..-1]
                return
            end
            __shellenv_clear
        case refresh
            set -l args $argv[2..-1]
            if __shellenv_asks_help $args; or contains -- --background $args
                command $__shellenv_prog refresh $args
                return
            end
            # After expired keys were cleared, `shellenv refresh` still means the profile they belonged to.
            if test (count $args) -eq 0 -a -z "$SHELLENV_PROFILE" -a -n "$__shellenv_gone_profile"
                set args $__shellenv_gone_profile
            end
            __shellenv_eval refresh --shell fish $args
        case '*'
            command $__shellenv_prog $argv
    end
end

function __shellenv_asks_help
    for arg in $argv
        switch $arg
            case -h --help
                return 0
            case --
                return 1
        end
    end
    return 1
end

# Run the program and eval what it prints, only when it succeeded; the code is read whole before any of
# it runs, so the keys are never half set.
function __shellenv_eval
    set -lx SHELLENV_SHELL fish
    set -l code (command $__shellenv_prog $argv)
    or return
    test -n "$code"; or return 0
    # The code's last lines erase variables that may not exist; that is no failure.
    printf '%s\n' $code | source
    return 0
end

# `shellenv use NAME` served from the cache with no process: Python runs only when something must change.
# The code sourced is the file the program wrote beside the keys, exactly what `shellenv export` prints.
# Only when the config is older than that file (an edited config, say a new region, goes to the program),
# the keys last __shellenv_min_validity more seconds (the stamp's mtime is their expiry), and the files and
# their folder are the user's own; fish cannot see a mode without a process, and the folder is 0700.
# Returns 1, having changed nothing, when the program must run.
function __shellenv_cached_use
    # One name, spelt as its cache files are (other names are %-escaped there), and no flag.
    set -q argv[1]; and not set -q argv[2]; and test $__shellenv_has_path = 1 -a -n "$HOME"
    and string match -qr '^[A-Za-z0-9._~@+=,][A-Za-z0-9._~@+=,-]*$' -- $argv[1]
    or return 1
    set -l config $SHELLENV_CONFIG
    if test -n "$config"
        string match -q '/*' -- $config; or return 1
    else if string match -q '/*' -- "$XDG_CONFIG_HOME"
        set config $XDG_CONFIG_HOME/shellenv/config.toml
    else
        set config $HOME/.config/shellenv/config.toml
    end
    set -l dir $HOME/.cache/shellenv/sessions
    string match -q '/*' -- "$XDG_CACHE_HOME"; and set dir $XDG_CACHE_HOME/shellenv/sessions
    set -l base $dir/$argv[1]
    test -O $dir -a -f $base.fish -a -O $base.fish -a -O $base.note -a -O $base.expiry -a -f $config
    and test $base.fish -nt $config
    or return 1

    # Seconds since the stamp's mtime, the expiry: negative while the keys are valid.
    path mtime --relative -- $base.expiry | read -l since
    and test "$since" -le -$__shellenv_min_validity
    and read -l note <$base.note
    and test -n "$note"
    or return 1

    # The code's last lines erase variables that may not exist; that is no failure.
    source $base.fish
    __shellenv_new_keys
    __shellenv_say "$note, valid "(__shellenv_duration (math 0 - $since))
    return 0
end

function __shellenv_clear
    set -e -g $__shellenv_cleared
    set -g __shellenv_gone_expiry ''
    set -g __shellenv_gone_profile ''
    set -g __shellenv_gone_stamp ''
    set -g __shellenv_gone_label ''
    __shellenv_new_keys
    __shellenv_render 0
end

# -- the prompt hook -----------------------------------------------------------------------------------------

# Event handlers leave $status alone: the user's prompt still sees the last command's.
#
# The fast path, taken on nearly every prompt: the same keys and folder as at the last prompt, and one
# `path mtime --relative` of the clock file (a builtin: no process) inside [__shellenv_since,
# __shellenv_until), the seconds before the segment's next minute or the next warning, refresh or expiry.
# The clock is the stamp, whose mtime is the expiry: keys renewed elsewhere move it forward, so the
# seconds since it drop below __shellenv_since and the slow path picks them up, at any prompt.
if builtin -q path 2>/dev/null
    function __shellenv_precmd --on-event fish_prompt
        test "$PWD" = "$__shellenv_dir_pwd" -a -z "$__shellenv_dir_found"; or __shellenv_dir_check
        if test "$SHELLENV_EXPIRY" = "$__shellenv_seen"
            # No keys: time changes nothing.
            test -z "$__shellenv_expiry$__shellenv_gone_expiry"; and return
            path mtime --relative -- $__shellenv_clock | read -l since
            and test $since -ge $__shellenv_since -a $since -lt $__shellenv_until
            and return
        end
        __shellenv_update
    end
else
    # fish < 3.5 has no `path`: the clock is `date`, one process per prompt while keys are active.
    function __shellenv_precmd --on-event fish_prompt
        test "$PWD" = "$__shellenv_dir_pwd" -a -z "$__shellenv_dir_found"; or __shellenv_dir_check
        if test "$SHELLENV_EXPIRY" = "$__shellenv_seen"
            test -z "$__shellenv_expiry$__shellenv_gone_expiry"; and return
        end
        __shellenv_update
    end
end

# Something may have changed: new keys, renewed keys, a new minute, a warning, refresh or expiry.
function __shellenv_update
    test "$SHELLENV_EXPIRY" = "$__shellenv_seen"; or __shellenv_new_keys
    set -g __shellenv_clock ''
    if test -z "$__shellenv_expiry$__shellenv_gone_expiry"
        __shellenv_render 0
        return
    end
    set -l stamp $SHELLENV_STAMP
    test -n "$stamp"; or set stamp $__shellenv_gone_stamp
    set -l stamped ''
    set -l since
    set -l now
    if test $__shellenv_has_path = 1 -a -n "$stamp"
        and set stamped (path mtime -- $stamp)
        and set since (path mtime --relative -- $stamp)
        set now (math $stamped + $since)
    else
        set stamped ''
        set now (date +%s)
    end
    set -l expiry $__shellenv_expiry
    test -n "$expiry"; or set expiry $__shellenv_gone_expiry
    set -l left (math $expiry - $now)
    # The stat is free here, so keys renewed elsewhere are picked up at any prompt, not only near expiry.
    if test -n "$stamped"; and test "$stamped" -gt $expiry
        and test "$stamped" != "$__shellenv_stamp_tried"
        set -g __shellenv_stamp_tried $stamped
        if __shellenv_pickup $now
            set left (math $__shellenv_expiry - $now)
        end
    end
    test $left -gt $__shellenv_window; or __shellenv_near $left
    __shellenv_render $left
    test -n "$stamped"; or return 0

    # Until when nothing changes: the segment's next minute (next second under a minute), the next of
    # warn_before, warn_again, refresh_before and expiry still ahead; expired keys change no more.
    set -l next $__shellenv_never
    if test $left -gt 0
        set next (math "$now + 1")
        test $left -ge 60; and set next (math "$now + $left % 60 + 1")
        set expiry $__shellenv_expiry
        for before in $__shellenv_warn_before $__shellenv_warn_again $__shellenv_refresh_before 0
            test $left -gt $before -a (math $expiry - $before) -lt $next
            and set next (math $expiry - $before)
        end
    end
    set -g __shellenv_clock $stamp
    set -g __shellenv_since $since
    set -g __shellenv_until (math $next - $stamped)
end

# The keys changed (use, refresh, a pick-up, clear, or by hand): their warnings start afresh.
function __shellenv_new_keys
    set -g __shellenv_seen "$SHELLENV_EXPIRY"
    set -g __shellenv_warned 0
    if string match -qr '^[0-9]+$' -- "$__shellenv_seen"
        set -g __shellenv_expiry $__shellenv_seen
        set -g __shellenv_gone_expiry ''
        set -g __shellenv_gone_profile ''
        set -g __shellenv_gone_stamp ''
        set -g __shellenv_gone_label ''
    else
        set -g __shellenv_expiry ''
    end
end

function __shellenv_profile
    if test -n "$SHELLENV_PROFILE"
        echo $SHELLENV_PROFILE
    else
        echo $__shellenv_gone_profile
    end
end

function __shellenv_pickup -a now
    set -l profile (__shellenv_profile)
    test -n "$profile"; or return 1
    __shellenv_eval export --shell fish --cached --quiet $profile 2>/dev/null; or return 1
    __shellenv_new_keys
    set -l valid (__shellenv_duration (math $__shellenv_expiry - $now))
    __shellenv_say "renewed keys for $profile picked up (valid $valid)"
end

# Inside the window ($argv[1] seconds left): start a background refresh, warn, clear expired keys.
function __shellenv_near -a left
    set -l profile (__shellenv_profile)
    if test "$SHELLENV_REFRESH" = auto -a -n "$__shellenv_expiry" -a -n "$profile"
        and test $left -le $__shellenv_refresh_before
        and test "$__shellenv_refreshing" != "$__shellenv_expiry"
        set -g __shellenv_refreshing $__shellenv_expiry
        command $__shellenv_prog refresh --background $profile </dev/null >/dev/null 2>&1 &
        disown
    end

    set -l name $profile
    test -n "$name"; or set name $SHELLENV_ACCOUNT
    set -l in (__shellenv_duration $left)
    if test $left -le 0
        test $__shellenv_warned -lt 3; or return 0
        set -g __shellenv_warned 3
        if test $__shellenv_clear_expired = 1 -a -n "$__shellenv_expiry"
            __shellenv_say "keys for $name expired and were removed from this shell;" \
                "run `shellenv refresh` to log in again"
            __shellenv_expire
        else if test -n "$__shellenv_expiry"
            __shellenv_say "keys for $name expired; run `shellenv refresh` to log in again"
        end
    else if test $left -le $__shellenv_warn_again -a $__shellenv_warned -lt 2
        set -g __shellenv_warned 2
        if test "$SHELLENV_REFRESH" = auto
            __shellenv_say "keys for $name expire in $in and automatic refresh has not renewed them;" \
                "run `shellenv refresh`"
        else
            __shellenv_say "keys for $name expire in $in; run `shellenv refresh` to renew them"
        end
    else if test $left -le $__shellenv_warn_before -a $__shellenv_warned -lt 1
        set -g __shellenv_warned 1
        # With automatic refresh the keys are expected to renew silently; warn_again is the fallback.
        test "$SHELLENV_REFRESH" = auto; and return 0
        __shellenv_say "keys for $name expire in $in; run `shellenv refresh` to renew them"
    end
    return 0
end

# Remove expired keys, remembering enough to show "expired" and to let `shellenv refresh` log in again.
function __shellenv_expire
    set -g __shellenv_gone_label (__shellenv_label)
    set -g __shellenv_gone_expiry $__shellenv_expiry
    set -g __shellenv_gone_profile "$SHELLENV_PROFILE"
    set -g __shellenv_gone_stamp "$SHELLENV_STAMP"
    set -e -g $__shellenv_cleared
    set -g __shellenv_seen ''
    set -g __shellenv_expiry ''
end

function __shellenv_say
    printf 'shellenv: %s\n' "$argv" >&2
end

# -- the prompt segment --------------------------------------------------------------------------------------

# What the segment names: the profile, else account alias/role name.
function __shellenv_label
    if test -n "$__shellenv_gone_label"
        echo $__shellenv_gone_label
    else if test -n "$SHELLENV_PROFILE"
        echo $SHELLENV_PROFILE
    else
        echo "$SHELLENV_ACCOUNT/"(string replace -r '.*/' '' -- "$SHELLENV_ROLE_ARN")
    end
end

# Seconds as 1h05m, 14m or 40s.
function __shellenv_duration -a seconds
    set -l h (math --scale=0 "floor($seconds / 3600)")
    set -l m (math --scale=0 "floor($seconds % 3600 / 60)")
    if test $h -gt 0
        printf '%dh%02dm' $h $m
    else if test $m -gt 0
        printf '%dm' $m
    else
        printf '%ds' $seconds
    end
end

# Sets SHELLENV_PROMPT_SEGMENT (plain text), SHELLENV_PROMPT_STATE (ok, warn, expired or empty) and
# __shellenv_sgr (the colour) from $argv[1] seconds left.
function __shellenv_render -a left
    if test -z "$__shellenv_expiry$__shellenv_gone_expiry"
        set -g SHELLENV_PROMPT_SEGMENT ''
        set -g SHELLENV_PROMPT_STATE ''
        return
    end
    set -l text expired
    if test $left -le 0
        set -g SHELLENV_PROMPT_STATE expired
        set -g __shellenv_sgr '1;31'
    else
        set text (__shellenv_duration $left)
        if test $left -le $__shellenv_warn_before
            set -g SHELLENV_PROMPT_STATE warn
            set -g __shellenv_sgr '1;33'
        else
            set -g SHELLENV_PROMPT_STATE ok
            set -g __shellenv_sgr 36
        end
    end
    set -g SHELLENV_PROMPT_SEGMENT "aws:"(__shellenv_label)" $text"
end

# For prompts: prints the coloured segment (no newline), nothing when no keys.
function shellenv_prompt --description 'shellenv: the prompt segment, e.g. aws:dev-admin 1h52m'
    test -n "$SHELLENV_PROMPT_SEGMENT"; or return 0
    if set -q NO_COLOR; and test -n "$NO_COLOR"
        printf '%s' $SHELLENV_PROMPT_SEGMENT
    else
        printf '\e[%sm%s\e[0m' $__shellenv_sgr $SHELLENV_PROMPT_SEGMENT
    end
end

# -- directories ---------------------------------------------------------------------------------------------

# A folder names its profile in .shellenv.toml (looked for from $PWD up to $HOME, or /) or through a
# [[directory]] rule of the config, which `shellenv init` bakes into __shellenv_dir_rules as regexes. Finding
# them takes only builtins (test -f, string match, test -nt). The program runs only when the nearest file,
# the matching rule, the file's content or the trust store changed; it prints the keys to switch to (or back
# to). A PWD handler checks at once, so `cd x; and cmd` runs cmd with x's keys; the prompt checks too.

for __shellenv_var in __shellenv_dir_pwd __shellenv_dir_key __shellenv_dir_found __shellenv_dir_stack
    set -q $__shellenv_var; or set -g $__shellenv_var ''
end
set -e __shellenv_var

function __shellenv_dir_check
    set -l marker "$__shellenv_dir_seen/$fish_pid"
    if test "$PWD" = "$__shellenv_dir_pwd"
        # Same folder: only an edited or deleted file, or a new allow/deny, needs a look.
        test -n "$__shellenv_dir_found"; or return 0
        if test -f "$__shellenv_dir_found"; and not test "$__shellenv_dir_found" -nt "$marker"
            and not test "$__shellenv_dir_trust" -nt "$marker.trust"
            return 0
        end
        set -g __shellenv_dir_key -
    end
    set -l dir (string replace -r '/$' '' -- $PWD)
    set -l home (string replace -r '/$' '' -- $HOME)
    set -l found ''
    while true
        if test -f "$dir/.shellenv.toml"
            set found "$dir/.shellenv.toml"
            break
        end
        test -n "$dir" -a "$dir" != "$home"; or break
        set dir (string replace -r '/[^/]*$' '' -- $dir)
    end
    set -l rule ''
    set -l deepest -1
    set -l i 0
    for regex in $__shellenv_dir_rules
        set i (math $i + 1)
        if test $__shellenv_dir_depths[$i] -gt $deepest; and string match -qr -- $regex $PWD
            set rule $i
            set deepest $__shellenv_dir_depths[$i]
        end
    end
    set -g __shellenv_dir_pwd $PWD
    set -g __shellenv_dir_found $found
    set -l key $found
    test -n "$rule"; and set key "$found|$rule"
    if test "$key" = "$__shellenv_dir_key"
        # The same resolution: nothing to do, unless the config changed since the program last looked.
        test -e "$marker"; and test "$__shellenv_dir_config" -nt "$marker"; or return 0
    end
    set -g __shellenv_dir_key $key
    __shellenv_eval __dir --shell fish --pid $fish_pid --state "$__shellenv_dir_stack" -- $PWD
    return 0
end

# On every change of folder, also inside `cd x; and cmd`; not for a cd in a command substitution.
function __shellenv_dir_on_pwd --on-variable PWD
    status is-command-substitution; and return
    __shellenv_dir_check
end

# -- registration (idempotent) -------------------------------------------------------------------------------

# The segment goes on the right prompt, in front of the user's own right prompt if there is one, unless the
# prompt belongs to starship (docs/prompt.md has its snippet).
if test "$__shellenv_prompt" = 1 -a -z "$STARSHIP_SHELL"
    and not functions -q __shellenv_right_prompt
    if functions -q fish_right_prompt
        functions --copy fish_right_prompt __shellenv_user_right_prompt
    end
    function __shellenv_right_prompt
        shellenv_prompt
        if functions -q __shellenv_user_right_prompt
            test -n "$SHELLENV_PROMPT_SEGMENT"; and printf ' '
            __shellenv_user_right_prompt
        end
    end
    function fish_right_prompt
        __shellenv_right_prompt
    end
end
