# shellcheck shell=bash
# shellenv for bash: the `shellenv` function, the prompt hook, the prompt segment and expiry warnings.
# Loaded by `eval "$(shellenv init bash)"`, whose first lines set __shellenv_prog and the [shell] settings.
#
# An ordinary prompt forks nothing: the clock is $EPOCHSECONDS (or printf's %(%s)T before bash 5), and the
# stamp file is read with `read -r` only once the keys are inside the warning or refresh window.
# Internal names start with __shellenv_; SHELLENV_PROMPT_SEGMENT and SHELLENV_PROMPT_STATE are for prompts.

# shellcheck disable=SC2154  # __shellenv_prog and the settings are set by the lines `shellenv init` puts first

# -- state (kept when this file is sourced again) ------------------------------------------------------------

: "${__shellenv_seen=}" "${__shellenv_expiry=}" "${__shellenv_warned=0}" "${__shellenv_refreshing=}"
: "${__shellenv_ps1_seen=}" "${__shellenv_stamp_tried=}"
: "${__shellenv_gone_expiry=}" "${__shellenv_gone_profile=}"
: "${__shellenv_gone_stamp=}" "${__shellenv_gone_label=}" "${__shellenv_ps1=}" "${__shellenv_next_render=0}"
: "${__shellenv_next=0}" "${__shellenv_status=0}" "${__shellenv_watch=}" "${__shellenv_watched=}"
: "${__shellenv_stamped=}"
: "${SHELLENV_PROMPT_SEGMENT=}" "${SHELLENV_PROMPT_STATE=}"
__shellenv_window=$__shellenv_warn_before
((__shellenv_refresh_before > __shellenv_window)) && __shellenv_window=$__shellenv_refresh_before
((__shellenv_warn_again > __shellenv_window)) && __shellenv_window=$__shellenv_warn_again
__shellenv_never=9999999999  # __shellenv_next when no time can change anything
__shellenv_min_validity=300  # as login.MIN_VALIDITY_SECONDS: cached keys served must last this long

# -- the command ---------------------------------------------------------------------------------------------

shellenv() {
    # The program's own flags may come first (`shellenv -v use NAME`): they go after the verb, which decides
    # what the hook does (otherwise `-v refresh` would print the keys on the terminal instead of setting them).
    local -a __shellenv_flags=()
    local __shellenv_verb
    while [[ ${1-} == -v || ${1-} == -vv || ${1-} == -vvv || ${1-} == --verbose || ${1-} == --debug ]]; do
        __shellenv_flags+=("$1")
        shift
    done
    if ((${#__shellenv_flags[@]})); then
        case ${1-} in
        use | clear | refresh)
            __shellenv_verb=$1
            shift
            set -- "$__shellenv_verb" "${__shellenv_flags[@]}" "$@"
            ;;
        *) set -- "${__shellenv_flags[@]}" "$@" ;;
        esac
    fi
    case ${1-} in
    use)
        shift
        if __shellenv_asks_help "$@"; then
            SHELLENV_SHELL=bash command "$__shellenv_prog" use "$@"
            return
        fi
        __shellenv_cached_use "$@" || __shellenv_eval export --shell bash "$@"
        ;;
    clear)
        shift
        if __shellenv_asks_help "$@"; then
            SHELLENV_SHELL=bash command "$__shellenv_prog" clear "$@"
            return
        fi
        __shellenv_clear
        ;;
    refresh)
        shift
        if __shellenv_asks_help "$@" || [[ " $* " == *" --background "* ]]; then
            SHELLENV_SHELL=bash command "$__shellenv_prog" refresh "$@"
            return
        fi
        # After expired keys were cleared, `shellenv refresh` still means the profile they belonged to.
        if (($# == 0)) && [[ -z ${SHELLENV_PROFILE-} && -n $__shellenv_gone_profile ]]; then
            set -- "$__shellenv_gone_profile"
        fi
        __shellenv_eval refresh --shell bash "$@"
        ;;
    *)
        SHELLENV_SHELL=bash command "$__shellenv_prog" "$@"
        ;;
    esac
}

__shellenv_asks_help() {
    local __shellenv_arg
    for __shellenv_arg; do
        case $__shellenv_arg in
        -h | --help) return 0 ;;
        --) return 1 ;;
        esac
    done
    return 1
}

# Run the program and eval what it prints, only when it succeeded. The code is read whole before any of
# it runs, and Ctrl-C is ignored while it runs, so the keys are never half set.
__shellenv_eval() {
    local __shellenv_code __shellenv_trap __shellenv_rc=0
    __shellenv_code=$(SHELLENV_SHELL=bash command "$__shellenv_prog" "$@") || return
    [[ -n $__shellenv_code ]] || return 0
    __shellenv_trap=$(trap -p INT)
    trap '' INT
    eval "$__shellenv_code" || __shellenv_rc=$?
    if [[ -n $__shellenv_trap ]]; then
        eval "$__shellenv_trap"
    else
        trap - INT
    fi
    return "$__shellenv_rc"
}

# `shellenv use NAME` served from the cache with no process: Python runs only when something must change.
# The code sourced is the file the program wrote beside the keys, exactly what `shellenv export` prints.
# Only when the config is older than that file (an edited config, say a new region, goes to the program),
# the keys last __shellenv_min_validity more seconds (as for the program's cache hit), and the files and
# their folder are the user's own; bash cannot see a mode without a process, and the folder is 0700.
# Returns 1, having changed nothing, when the program must run.
__shellenv_cached_use() {
    # One name, spelt as its cache files are (other names are %-escaped there), and no flag. The characters
    # are listed, not ranged: a range follows the locale's collation.
    (($# == 1)) && [[ -n $1 && $1 != -* && -n ${HOME-} ]] || return 1
    [[ $1 != *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~@+=,-]* ]] || return 1
    local __shellenv_config=${SHELLENV_CONFIG-} __shellenv_dir __shellenv_at='' __shellenv_now
    local __shellenv_note='' __shellenv_text
    if [[ -n $__shellenv_config ]]; then
        [[ $__shellenv_config == /* ]] || return 1
    elif [[ ${XDG_CONFIG_HOME-} == /* ]]; then
        __shellenv_config=$XDG_CONFIG_HOME/shellenv/config.toml
    else
        __shellenv_config=$HOME/.config/shellenv/config.toml
    fi
    if [[ ${XDG_CACHE_HOME-} == /* ]]; then
        __shellenv_dir=$XDG_CACHE_HOME/shellenv/sessions
    else
        __shellenv_dir=$HOME/.cache/shellenv/sessions
    fi
    local __shellenv_base=$__shellenv_dir/$1
    [[ -O $__shellenv_dir && -f $__shellenv_base.bash && -O $__shellenv_base.bash &&
        -O $__shellenv_base.note && -O $__shellenv_base.expiry && -f $__shellenv_config &&
        $__shellenv_base.bash -nt $__shellenv_config ]] || return 1

    { read -r __shellenv_at <"$__shellenv_base.expiry"; } 2>/dev/null
    case $__shellenv_at in '' | *[!0-9]* | ????????????*) return 1 ;; esac
    if [[ -n ${EPOCHSECONDS-} ]]; then
        __shellenv_now=$EPOCHSECONDS
    else
        printf -v __shellenv_now '%(%s)T' -1
    fi
    ((10#$__shellenv_at - __shellenv_now >= __shellenv_min_validity)) || return 1
    { read -r __shellenv_note <"$__shellenv_base.note"; } 2>/dev/null
    [[ -n $__shellenv_note ]] || return 1

    # shellcheck disable=SC1090  # the file is the program's output, found at run time
    source "$__shellenv_base.bash" || return 1
    __shellenv_new_keys
    __shellenv_duration $((10#$__shellenv_at - __shellenv_now))
    __shellenv_say "$__shellenv_note, valid $__shellenv_text"
}

__shellenv_clear() {
    unset "${__shellenv_cleared[@]}"
    __shellenv_gone_expiry='' __shellenv_gone_profile='' __shellenv_gone_stamp='' __shellenv_gone_label=''
    __shellenv_new_keys
    __shellenv_render 0
}

# -- the prompt hook -----------------------------------------------------------------------------------------

# The fast path, taken on nearly every prompt: before __shellenv_next (epoch seconds: the segment's next
# minute, or the next warning, refresh or expiry) with the same keys, folder and PS1 as at the last prompt,
# there is nothing to do; inside the window, one `read` of the stamp too. It declares nothing and calls no
# function. Without $EPOCHSECONDS (bash < 5) every prompt takes the slow path, whose clock is printf's
# %(%s)T.
__shellenv_precmd() {
    __shellenv_status=$?
    [[ $PWD == "$__shellenv_dir_pwd" && -z $__shellenv_dir_found ]] || __shellenv_dir_check
    if ((${EPOCHSECONDS:-__shellenv_never} >= __shellenv_next)) ||
        [[ ${SHELLENV_EXPIRY-} != "$__shellenv_seen" || $PS1 != "$__shellenv_ps1_seen" ]]; then
        __shellenv_update
    elif [[ -n $__shellenv_watch ]]; then
        # Inside the window: keys renewed elsewhere change the stamp.
        { read -r __shellenv_stamped <"$__shellenv_watch"; } 2>/dev/null
        [[ $__shellenv_stamped == "$__shellenv_watched" ]] || __shellenv_update
    fi
    return "$__shellenv_status"
}

# Something may have changed: new keys, a new minute, the window, expiry, or PS1 set again.
__shellenv_update() {
    local __shellenv_now __shellenv_left=0 __shellenv_stamped='' __shellenv_before
    [[ ${SHELLENV_EXPIRY-} == "$__shellenv_seen" ]] || __shellenv_new_keys
    __shellenv_next=$__shellenv_never __shellenv_watch=''
    if [[ -n $__shellenv_expiry$__shellenv_gone_expiry ]]; then
        if [[ -n ${EPOCHSECONDS-} ]]; then
            __shellenv_now=$EPOCHSECONDS
        else
            printf -v __shellenv_now '%(%s)T' -1
        fi
        __shellenv_left=$((10#${__shellenv_expiry:-$__shellenv_gone_expiry} - __shellenv_now))
        if ((__shellenv_left <= __shellenv_window)); then
            # Inside the window the fast path reads the stamp too (no process), to pick up renewed keys.
            __shellenv_near
            __shellenv_render "$__shellenv_left"
            __shellenv_watch=${SHELLENV_STAMP:-$__shellenv_gone_stamp} __shellenv_watched=$__shellenv_stamped
        else
            ((__shellenv_now < __shellenv_next_render)) || __shellenv_render "$__shellenv_left"
        fi
        # The next moment anything changes: the segment's next minute (or second), or the next of the
        # warnings, the refresh and expiry still ahead. Expired keys change no more.
        if ((__shellenv_left > 0)); then
            __shellenv_next=$__shellenv_next_render
            for __shellenv_before in "$__shellenv_warn_before" "$__shellenv_warn_again" \
                "$__shellenv_refresh_before" 0; do
                ((__shellenv_left > __shellenv_before &&
                    __shellenv_now + __shellenv_left - __shellenv_before < __shellenv_next)) &&
                    __shellenv_next=$((__shellenv_now + __shellenv_left - __shellenv_before))
            done
        fi
    elif [[ -n $SHELLENV_PROMPT_SEGMENT ]]; then
        __shellenv_render 0
    fi
    # PS1 set again after the init (by a later rc line or a theme) gets the segment back, unless the user
    # placed the segment or starship draws the prompt; a plain comparison keeps this cheap.
    if [[ $PS1 != "$__shellenv_ps1_seen" ]]; then
        if ((__shellenv_prompt)) && [[ $PS1 != *__shellenv_ps1* && $PS1 != *SHELLENV_PROMPT_SEGMENT* ]] &&
            [[ -z ${STARSHIP_SHELL-} ]]; then
            PS1='${__shellenv_ps1-}'$PS1
        fi
        __shellenv_ps1_seen=$PS1
    fi
    return 0
}

# The keys changed (use, refresh, a pick-up, clear, or by hand): their warnings start afresh.
__shellenv_new_keys() {
    __shellenv_seen=${SHELLENV_EXPIRY-}
    __shellenv_warned=0 __shellenv_next_render=0 __shellenv_next=0
    case $__shellenv_seen in
    '' | *[!0-9]*) __shellenv_expiry= ;;
    *)
        __shellenv_expiry=$__shellenv_seen
        __shellenv_gone_expiry='' __shellenv_gone_profile='' __shellenv_gone_stamp='' __shellenv_gone_label=''
        ;;
    esac
}

# Inside the window: pick up keys renewed elsewhere, start a background refresh, warn, clear expired keys.
# Uses the caller's __shellenv_left and updates it; sets the caller's __shellenv_stamped.
__shellenv_near() {
    local __shellenv_stamp=${SHELLENV_STAMP:-$__shellenv_gone_stamp}
    local __shellenv_profile=${SHELLENV_PROFILE:-$__shellenv_gone_profile}
    if [[ -n $__shellenv_stamp ]]; then
        { read -r __shellenv_stamped <"$__shellenv_stamp"; } 2>/dev/null
    fi
    case $__shellenv_stamped in
    '' | *[!0-9]*) ;;
    *)
        if ((10#$__shellenv_stamped > 10#${__shellenv_expiry:-$__shellenv_gone_expiry})) &&
            [[ $__shellenv_stamped != "$__shellenv_stamp_tried" && -n $__shellenv_profile ]]; then
            __shellenv_stamp_tried=$__shellenv_stamped
            if __shellenv_eval export --shell bash --cached --quiet "$__shellenv_profile" 2>/dev/null; then
                __shellenv_new_keys
                __shellenv_left=$((10#$__shellenv_expiry - __shellenv_now))
                local __shellenv_text
                __shellenv_duration "$__shellenv_left"
                __shellenv_say "renewed keys for $__shellenv_profile picked up (valid $__shellenv_text)"
                return
            fi
        fi
        ;;
    esac

    if [[ ${SHELLENV_REFRESH-} == auto && -n $__shellenv_expiry && -n $__shellenv_profile ]] &&
        ((__shellenv_left <= __shellenv_refresh_before)) &&
        [[ $__shellenv_refreshing != "$__shellenv_expiry" ]]; then
        __shellenv_refreshing=$__shellenv_expiry
        (
            trap '' HUP INT
            command "$__shellenv_prog" refresh --background "$__shellenv_profile" \
                </dev/null >/dev/null 2>&1 &
        )
    fi

    __shellenv_warn
}

__shellenv_warn() {
    local __shellenv_name=${__shellenv_profile:-${SHELLENV_ACCOUNT-}} __shellenv_text __shellenv_in
    __shellenv_duration "$__shellenv_left"
    __shellenv_in=$__shellenv_text
    if ((__shellenv_left <= 0)); then
        ((__shellenv_warned < 3)) || return 0
        __shellenv_warned=3
        if ((__shellenv_clear_expired)) && [[ -n $__shellenv_expiry ]]; then
            __shellenv_say "keys for $__shellenv_name expired and were removed from this shell;" \
                "run \`shellenv refresh\` to log in again"
            __shellenv_expire
        elif [[ -n $__shellenv_expiry ]]; then
            __shellenv_say "keys for $__shellenv_name expired; run \`shellenv refresh\` to log in again"
        fi
    elif ((__shellenv_left <= __shellenv_warn_again && __shellenv_warned < 2)); then
        __shellenv_warned=2
        if [[ ${SHELLENV_REFRESH-} == auto ]]; then
            __shellenv_say "keys for $__shellenv_name expire in $__shellenv_in and automatic" \
                "refresh has not renewed them; run \`shellenv refresh\`"
        else
            __shellenv_say "keys for $__shellenv_name expire in $__shellenv_in;" \
                "run \`shellenv refresh\` to renew them"
        fi
    elif ((__shellenv_left <= __shellenv_warn_before && __shellenv_warned < 1)); then
        __shellenv_warned=1
        # With automatic refresh the keys are expected to renew silently; warn_again is the fallback.
        [[ ${SHELLENV_REFRESH-} == auto ]] && return 0
        __shellenv_say "keys for $__shellenv_name expire in $__shellenv_in;" \
            "run \`shellenv refresh\` to renew them"
    fi
    return 0
}

# Remove expired keys, remembering enough to show "expired" and to let `shellenv refresh` log in again.
__shellenv_expire() {
    __shellenv_gone_expiry=$__shellenv_expiry
    __shellenv_gone_profile=${SHELLENV_PROFILE-}
    __shellenv_gone_stamp=${SHELLENV_STAMP-}
    __shellenv_label
    __shellenv_gone_label=$__shellenv_text
    unset "${__shellenv_cleared[@]}"
    __shellenv_seen='' __shellenv_expiry=''
}

__shellenv_say() {
    printf 'shellenv: %s\n' "$*" >&2
}

# -- the prompt segment --------------------------------------------------------------------------------------

# Sets __shellenv_text to what the segment names: the profile, else account alias/role name.
__shellenv_label() {
    if [[ -n $__shellenv_gone_label ]]; then
        __shellenv_text=$__shellenv_gone_label
    elif [[ -n ${SHELLENV_PROFILE-} ]]; then
        __shellenv_text=$SHELLENV_PROFILE
    else
        __shellenv_text=${SHELLENV_ROLE_ARN-}
        __shellenv_text=${SHELLENV_ACCOUNT-}/${__shellenv_text##*/}
    fi
}

# Sets __shellenv_text to $1 seconds as 1h05m, 14m or 40s.
__shellenv_duration() {
    local __shellenv_h=$(($1 / 3600)) __shellenv_m=$(($1 % 3600 / 60))
    if ((__shellenv_h > 0)); then
        ((__shellenv_m < 10)) && __shellenv_m=0$__shellenv_m
        __shellenv_text=${__shellenv_h}h${__shellenv_m}m
    elif ((__shellenv_m > 0)); then
        __shellenv_text=${__shellenv_m}m
    else
        __shellenv_text=${1}s
    fi
}

# $1: seconds left; the caller's __shellenv_now, the time. Outside the window the segment is drawn again
# only when its minutes change (__shellenv_next_render). Sets SHELLENV_PROMPT_SEGMENT (plain text),
# SHELLENV_PROMPT_STATE (ok, warn, expired or empty) and __shellenv_ps1 (coloured, with readline's
# \001 \002 around the colour codes, for PS1).
__shellenv_render() {
    local __shellenv_text __shellenv_label __shellenv_sgr
    if [[ -z $__shellenv_expiry$__shellenv_gone_expiry ]]; then
        SHELLENV_PROMPT_SEGMENT='' SHELLENV_PROMPT_STATE='' __shellenv_ps1=''
        return
    fi
    __shellenv_next_render=$((${__shellenv_now:-0} + ($1 < 60 ? 1 : $1 % 60 + 1)))
    __shellenv_label
    __shellenv_label=$__shellenv_text
    if (($1 <= 0)); then
        SHELLENV_PROMPT_STATE=expired __shellenv_text=expired __shellenv_sgr='1;31'
    else
        __shellenv_duration "$1"
        if (($1 <= __shellenv_warn_before)); then
            SHELLENV_PROMPT_STATE=warn __shellenv_sgr='1;33'
        else
            SHELLENV_PROMPT_STATE=ok __shellenv_sgr='36'
        fi
    fi
    SHELLENV_PROMPT_SEGMENT="aws:$__shellenv_label $__shellenv_text"
    if [[ -n ${NO_COLOR-} ]]; then
        __shellenv_ps1="$SHELLENV_PROMPT_SEGMENT "
    else
        __shellenv_ps1=$'\001\e['"${__shellenv_sgr}m"$'\002'"$SHELLENV_PROMPT_SEGMENT"$'\001\e[0m\002 '
    fi
}

# For prompts built by a function: prints the coloured segment (no newline), nothing when no keys.
shellenv_prompt() {
    [[ -n $SHELLENV_PROMPT_SEGMENT ]] || return 0
    local __shellenv_out=${__shellenv_ps1//$'\001'/}
    printf '%s' "${__shellenv_out//$'\002'/}"
}

# -- directories ---------------------------------------------------------------------------------------------

# A folder names its profile in .shellenv.toml (looked for from $PWD up to $HOME, or /) or through a
# [[directory]] rule of the config, which `shellenv init` bakes into __shellenv_dir_rules as regexes. Finding
# them is pure shell ([[ -f ]], =~ and -nt: no process). The program runs only when the nearest file, the
# matching rule, the file's content or the trust store changed; it prints the keys to switch to (or back to).
# `cd`, `pushd` and `popd` check at once, so `cd x && cmd` runs cmd with x's keys; the prompt checks too.

: "${__shellenv_dir_pwd=}" "${__shellenv_dir_key=}" "${__shellenv_dir_found=}" "${__shellenv_dir_stack=}"

__shellenv_dir_check() {
    local __shellenv_dir=${PWD%/} __shellenv_found='' __shellenv_rule='' __shellenv_deepest=-1 __shellenv_i
    local __shellenv_marker=${__shellenv_dir_seen-}/$$ __shellenv_key
    if [[ $PWD == "$__shellenv_dir_pwd" ]]; then
        # Same folder: only an edited or deleted file, or a new allow/deny, needs a look.
        [[ -n $__shellenv_dir_found ]] || return 0
        if [[ -f $__shellenv_dir_found && ! $__shellenv_dir_found -nt $__shellenv_marker &&
            ! ${__shellenv_dir_trust-} -nt $__shellenv_marker.trust ]]; then
            return 0
        fi
        __shellenv_dir_key=-
    fi
    while :; do
        if [[ -f $__shellenv_dir/.shellenv.toml ]]; then
            __shellenv_found=$__shellenv_dir/.shellenv.toml
            break
        fi
        [[ -n $__shellenv_dir && $__shellenv_dir != "${HOME%/}" ]] || break
        __shellenv_dir=${__shellenv_dir%/*}
    done
    for ((__shellenv_i = 0; __shellenv_i < ${#__shellenv_dir_rules[@]}; __shellenv_i++)); do
        if ((__shellenv_dir_depths[__shellenv_i] > __shellenv_deepest)) &&
            [[ $PWD =~ ${__shellenv_dir_rules[__shellenv_i]} ]]; then
            __shellenv_rule=$__shellenv_i __shellenv_deepest=${__shellenv_dir_depths[__shellenv_i]}
        fi
    done
    __shellenv_dir_pwd=$PWD __shellenv_dir_found=$__shellenv_found
    __shellenv_key=$__shellenv_found${__shellenv_rule:+|$__shellenv_rule}
    if [[ $__shellenv_key == "$__shellenv_dir_key" ]]; then
        # The same resolution: nothing to do, unless the config changed since the program last looked.
        [[ -e $__shellenv_marker && ${__shellenv_dir_config-} -nt $__shellenv_marker ]] || return 0
    fi
    __shellenv_dir_key=$__shellenv_key
    __shellenv_eval __dir --shell bash --pid "$$" --state "$__shellenv_dir_stack" -- "$PWD"
    return 0
}

# After a cd in the shell itself; a subshell's cd (as in $(cd x && pwd)) changes nothing that stays.
__shellenv_dir_cd() {
    ((BASH_SUBSHELL)) || __shellenv_dir_check
    return 0
}

# Wrap cd, pushd and popd; a function of the user's (or another tool's) of that name is kept and called.
__shellenv_dir_wrap() {
    local __shellenv_name=$1 __shellenv_def
    if declare -F "$__shellenv_name" >/dev/null; then
        __shellenv_def=$(declare -f "$__shellenv_name")
        [[ $__shellenv_def == *__shellenv_dir_cd* ]] && return 0
        eval "__shellenv_user_$__shellenv_name${__shellenv_def#"$__shellenv_name"}"
        eval "$__shellenv_name() { __shellenv_user_$__shellenv_name \"\$@\" || return; __shellenv_dir_cd; }"
    else
        eval "$__shellenv_name() { builtin $__shellenv_name \"\$@\" || return; __shellenv_dir_cd; }"
    fi
}
__shellenv_dir_wrap cd
__shellenv_dir_wrap pushd
__shellenv_dir_wrap popd

# -- registration (idempotent) -------------------------------------------------------------------------------

__shellenv_register() {
    local __shellenv_entry
    if [[ -n ${__bp_imported-} ]]; then
        # bash-preexec runs precmd_functions from its own PROMPT_COMMAND entry, with $? restored.
        for __shellenv_entry in "${precmd_functions[@]}"; do
            [[ $__shellenv_entry == __shellenv_precmd ]] && return
        done
        precmd_functions=(__shellenv_precmd "${precmd_functions[@]}")
        return
    fi
    # shellcheck disable=SC2128,SC2178  # PROMPT_COMMAND is a string, or an array since bash 5.1
    if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501)) && [[ -n ${PROMPT_COMMAND+set} ]] &&
        [[ ${PROMPT_COMMAND@a} == *a* ]]; then
        for __shellenv_entry in "${PROMPT_COMMAND[@]}"; do
            [[ $__shellenv_entry == *__shellenv_precmd* ]] && return
        done
        PROMPT_COMMAND=(__shellenv_precmd "${PROMPT_COMMAND[@]}")
    elif [[ ${PROMPT_COMMAND-} != *__shellenv_precmd* ]]; then
        PROMPT_COMMAND=__shellenv_precmd${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
    fi
}
__shellenv_register
