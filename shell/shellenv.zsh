# shellenv for zsh: the `shellenv` function, the prompt hook, the prompt segment and expiry warnings.
# Loaded by `eval "$(shellenv init zsh)"`, whose first lines set __shellenv_prog and the [shell] settings.
#
# An ordinary prompt forks nothing: the clock is $EPOCHSECONDS from zsh/datetime, and the stamp file is
# read with `read -r` only once the keys are inside the warning or refresh window.
# Internal names start with __shellenv_; SHELLENV_PROMPT_SEGMENT and SHELLENV_PROMPT_STATE are for prompts.

zmodload -F zsh/datetime p:EPOCHSECONDS

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
            SHELLENV_SHELL=zsh command "$__shellenv_prog" use "$@"
            return
        fi
        __shellenv_cached_use "$@" || __shellenv_eval export --shell zsh "$@"
        ;;
    clear)
        shift
        if __shellenv_asks_help "$@"; then
            SHELLENV_SHELL=zsh command "$__shellenv_prog" clear "$@"
            return
        fi
        __shellenv_clear
        ;;
    refresh)
        shift
        if __shellenv_asks_help "$@" || [[ " $* " == *" --background "* ]]; then
            SHELLENV_SHELL=zsh command "$__shellenv_prog" refresh "$@"
            return
        fi
        # After expired keys were cleared, `shellenv refresh` still means the profile they belonged to.
        if (($# == 0)) && [[ -z ${SHELLENV_PROFILE-} && -n $__shellenv_gone_profile ]]; then
            set -- "$__shellenv_gone_profile"
        fi
        __shellenv_eval refresh --shell zsh "$@"
        ;;
    *)
        SHELLENV_SHELL=zsh command "$__shellenv_prog" "$@"
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
# it runs, and Ctrl-C is ignored while it runs (emulate -L restores the trap), so keys are never half set.
__shellenv_eval() {
    emulate -L zsh
    local __shellenv_code
    __shellenv_code=$(SHELLENV_SHELL=zsh command "$__shellenv_prog" "$@") || return
    [[ -n $__shellenv_code ]] || return 0
    trap '' INT
    eval "$__shellenv_code"
}

# `shellenv use NAME` served from the cache with no process: Python runs only when something must change.
# The code sourced is the file the program wrote beside the keys, exactly what `shellenv export` prints.
# Only when the config is older than that file (an edited config, say a new region, goes to the program),
# the keys last __shellenv_min_validity more seconds (as for the program's cache hit), and the files and
# their folder are the user's and writable by no one else (glob qualifiers: no process).
# Returns 1, having changed nothing, when the program must run.
__shellenv_cached_use() {
    emulate -L zsh
    # One name, spelt as its cache files are (other names are %-escaped there), and no flag. The characters
    # are listed, not ranged: a range follows the locale's collation.
    (($# == 1)) && [[ -n $1 && $1 != -* && -n ${HOME-} ]] || return 1
    [[ $1 != *[^ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~@+=,-]* ]] || return 1
    local __shellenv_config=${SHELLENV_CONFIG-} __shellenv_dir __shellenv_at='' __shellenv_note=''
    local __shellenv_text __shellenv_base __shellenv_now=$EPOCHSECONDS
    local -a __shellenv_own
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
    __shellenv_base=$__shellenv_dir/$1
    # Each name, kept if it is the user's (U) and neither group- nor world-writable (^IW).
    __shellenv_own=($__shellenv_dir(N/U^IW) $__shellenv_base.zsh(N.U^IW) $__shellenv_base.note(N.U^IW)
        $__shellenv_base.expiry(N.U^IW))
    ((${#__shellenv_own} == 4)) || return 1
    [[ -f $__shellenv_config && $__shellenv_base.zsh -nt $__shellenv_config ]] || return 1

    { read -r __shellenv_at <$__shellenv_base.expiry; } 2>/dev/null
    [[ $__shellenv_at == <-> && ${#__shellenv_at} -lt 12 ]] || return 1
    ((10#$__shellenv_at - __shellenv_now >= __shellenv_min_validity)) || return 1
    { read -r __shellenv_note <$__shellenv_base.note; } 2>/dev/null
    [[ -n $__shellenv_note ]] || return 1

    trap '' INT  # restored on return (emulate -L): the keys are never half set
    source $__shellenv_base.zsh || return 1
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
# minute, or the next warning, refresh or expiry) with the same keys, folder and PROMPT as at the last
# prompt, there is nothing to do; inside the window, one `read` of the stamp too. It declares nothing and
# calls no function (locals and emulate cost more than the comparisons); zsh restores $? after a hook
# anyway, but a direct caller gets it back too.
__shellenv_precmd() {
    __shellenv_status=$?
    [[ $PWD == "$__shellenv_dir_pwd" && -z $__shellenv_dir_found ]] || __shellenv_dir_check
    if ((EPOCHSECONDS >= __shellenv_next)) ||
        [[ ${SHELLENV_EXPIRY-} != "$__shellenv_seen" || $PROMPT != "$__shellenv_ps1_seen" ]]; then
        __shellenv_update
    elif [[ -n $__shellenv_watch ]]; then
        # Inside the window: keys renewed elsewhere change the stamp.
        { read -r __shellenv_stamped <"$__shellenv_watch"; } 2>/dev/null
        [[ $__shellenv_stamped == "$__shellenv_watched" ]] || __shellenv_update
    fi
    return __shellenv_status
}

# Something may have changed: new keys, a new minute, the window, expiry, or PROMPT set again.
__shellenv_update() {
    local __shellenv_now=$EPOCHSECONDS __shellenv_left=0 __shellenv_stamped='' __shellenv_before
    [[ ${SHELLENV_EXPIRY-} == "$__shellenv_seen" ]] || __shellenv_new_keys
    __shellenv_next=$__shellenv_never __shellenv_watch=''
    if [[ -n $__shellenv_expiry$__shellenv_gone_expiry ]]; then
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
    # PROMPT set again after the init (by a later rc line or a theme) gets the segment back, unless the
    # user placed the segment; a plain comparison keeps this cheap.
    if [[ $PROMPT != "$__shellenv_ps1_seen" ]]; then
        if ((__shellenv_prompt)) && [[ $PROMPT != *__shellenv_ps1* && $PROMPT != *SHELLENV_PROMPT_SEGMENT* ]]
        then
            __shellenv_prompt_insert
        fi
        __shellenv_ps1_seen=$PROMPT
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
    emulate -L zsh
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
            if __shellenv_eval export --shell zsh --cached --quiet "$__shellenv_profile" 2>/dev/null; then
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
# SHELLENV_PROMPT_STATE (ok, warn, expired or empty) and __shellenv_ps1 (coloured, %-escaped, with
# %{ %} around the colour codes, for PROMPT).
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
        __shellenv_ps1="${SHELLENV_PROMPT_SEGMENT//\%/%%} "
    else
        __shellenv_ps1=$'%{\e['"${__shellenv_sgr}m"'%}'"${SHELLENV_PROMPT_SEGMENT//\%/%%}"$'%{\e[0m%} '
    fi
}

# For prompts built by a function: prints the coloured segment (no newline), nothing when no keys.
shellenv_prompt() {
    [[ -n $SHELLENV_PROMPT_SEGMENT ]] || return 0
    print -rn -- "${(%)__shellenv_ps1% }"
}

# -- directories ---------------------------------------------------------------------------------------------

# A folder names its profile in .shellenv.toml (looked for from $PWD up to $HOME, or /) or through a
# [[directory]] rule of the config, which `shellenv init` bakes into __shellenv_dir_rules as regexes. Finding
# them is pure shell ([[ -f ]], =~ and -nt: no process). The program runs only when the nearest file, the
# matching rule, the file's content or the trust store changed; it prints the keys to switch to (or back to).
# chpwd checks at once, so `cd x && cmd` runs cmd with x's keys; the prompt checks too.

: "${__shellenv_dir_pwd=}" "${__shellenv_dir_key=}" "${__shellenv_dir_found=}" "${__shellenv_dir_stack=}"

__shellenv_dir_check() {
    emulate -L zsh
    local __shellenv_dir=${PWD%/} __shellenv_found='' __shellenv_rule='' __shellenv_key MATCH MBEGIN MEND
    local -i __shellenv_deepest=-1 __shellenv_i
    local -a match mbegin mend
    local __shellenv_marker=${__shellenv_dir_seen-}/$$
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
    for ((__shellenv_i = 1; __shellenv_i <= ${#__shellenv_dir_rules}; __shellenv_i++)); do
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
    __shellenv_eval __dir --shell zsh --pid "$$" --state "$__shellenv_dir_stack" -- "$PWD"
    return 0
}

# After a cd in the shell itself; a subshell's cd (as in $(cd x && pwd)) changes nothing that stays.
__shellenv_dir_chpwd() {
    ((ZSH_SUBSHELL)) || __shellenv_dir_check
    return 0
}
typeset -ga chpwd_functions
((${chpwd_functions[(Ie)__shellenv_dir_chpwd]})) || chpwd_functions+=(__shellenv_dir_chpwd)

# -- registration (idempotent) -------------------------------------------------------------------------------

# Put the segment in front of PROMPT, unless the prompt belongs to starship or powerlevel10k (docs/prompt.md
# has their snippets). prompt_subst is needed for ${__shellenv_ps1} to be read on every prompt.
__shellenv_prompt_insert() {
    [[ -z ${STARSHIP_SHELL-} ]] && ((!${+functions[p10k]})) || return 0
    setopt prompt_subst
    PROMPT='${__shellenv_ps1-}'$PROMPT
}

__shellenv_register() {
    typeset -ga precmd_functions
    if ((!${precmd_functions[(Ie)__shellenv_precmd]})); then
        # First, so that keys picked up or cleared are in place before the other hooks run.
        precmd_functions=(__shellenv_precmd "${precmd_functions[@]}")
    fi
    ((__shellenv_prompt)) && [[ $PROMPT != *__shellenv_ps1* ]] && __shellenv_prompt_insert
    return 0
}
__shellenv_register
