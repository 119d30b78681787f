# qvdc-sim's command line as a user runs it, with exit codes checked (CASE selects one):
#   hash      two processes play the same scenario and seed: exit 0, no violation, the same
#             log hash, and the hash committed in golden/ (a change of behaviour changes it:
#             update the golden file in the same commit and say why); another seed differs.
#   missing   a scenario file that does not exist: exit 2, the file named.
#   bad_seed  a real scenario with a negative seed: exit 2, --seed named, nothing played.
#   unmet     a scenario whose `expect` the run does not meet: played (log_hash printed), exit 1,
#             each unmet expectation listed.
#   relative  `qvdc-sim run main.yaml` started in the scenario's own folder, its trace named
#             relative to it: played, exit 0.
function(play_in dir out_var code_var)
  execute_process(COMMAND ${SIM} run ${ARGN} WORKING_DIRECTORY ${dir} OUTPUT_VARIABLE out
                  ERROR_VARIABLE err RESULT_VARIABLE code)
  set(${out_var} "${out}${err}" PARENT_SCOPE)
  set(${code_var} "${code}" PARENT_SCOPE)
endfunction()

function(play out_var code_var)
  play_in(${WORK} out code ${ARGN})
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${code_var} "${code}" PARENT_SCOPE)
endfunction()

function(log_hash out_var text)
  if(NOT text MATCHES "log_hash=([0-9a-f]+)\n")
    message(FATAL_ERROR "no log_hash in:\n${text}")
  endif()
  set(${out_var} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()

set(scenario ${ROOT}/sim/scenarios/drs-load-spike.yaml)
if(CASE STREQUAL "hash")
  play(first first_code ${scenario} --seed 3)
  play(second second_code ${scenario} --seed 3)
  play(other other_code ${scenario} --seed 4)
  foreach(code IN ITEMS ${first_code} ${second_code} ${other_code})
    if(NOT code EQUAL 0)
      message(FATAL_ERROR "qvdc-sim exited ${code}:\n${first}")
    endif()
  endforeach()
  if(NOT first MATCHES "violations: 0\n")
    message(FATAL_ERROR "violations reported:\n${first}")
  endif()
  log_hash(a "${first}")
  log_hash(b "${second}")
  log_hash(c "${other}")
  file(READ ${ROOT}/tests/unit/sim/golden/drs-load-spike.seed3.hash golden)
  string(STRIP "${golden}" golden)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "two processes, same seed, different logs: ${a} vs ${b}")
  endif()
  if(NOT a STREQUAL golden)
    message(FATAL_ERROR "the log hash ${a} is not the golden ${golden}: behaviour changed")
  endif()
  if(a STREQUAL c)
    message(FATAL_ERROR "seeds 3 and 4 gave the same log: the seed is not used")
  endif()
elseif(CASE STREQUAL "missing")
  play(out code ${ROOT}/tests/unit/sim/no-such-scenario.yaml)
  if(NOT code EQUAL 2 OR NOT out MATCHES "^qvdc-sim: NOT_FOUND: .*no-such-scenario")
    message(FATAL_ERROR "expected exit 2 naming the file, got ${code}:\n${out}")
  endif()
elseif(CASE STREQUAL "bad_seed")
  play(out code ${scenario} --seed -1)
  if(NOT code EQUAL 2 OR NOT out MATCHES "--seed" OR out MATCHES "log_hash=")
    message(FATAL_ERROR "expected exit 2 naming --seed and nothing played, got ${code}:\n${out}")
  endif()
elseif(CASE STREQUAL "unmet")
  # The load-spike scenario with promises it cannot keep: a host failure and a VM stopped.
  file(READ ${scenario} text)
  string(REPLACE "no_events: [VmMigrationFailed, HaNodeFailed]"
                 "no_events: [VmMigrated]\n  not_running: [b1]" text "${text}")
  string(REPLACE "events: [DrsRecommended" "events: [HaNodeFailed, DrsRecommended" text "${text}")
  set(broken ${WORK}/unmet.yaml)
  file(WRITE ${broken} "${text}")
  play(out code ${broken} --seed 3)
  if(NOT code EQUAL 1 OR NOT out MATCHES "log_hash=" OR NOT out MATCHES "unmet_expectations: 3\n"
     OR NOT out MATCHES "unmet: b1 should not be running"
     OR NOT out MATCHES "unmet: HaNodeFailed should occur"
     OR NOT out MATCHES "unmet: VmMigrated should not occur")
    message(FATAL_ERROR "expected exit 1 listing three unmet expectations, got ${code}:\n${out}")
  endif()
elseif(CASE STREQUAL "relative")
  set(dir ${WORK}/relative)
  file(REMOVE_RECURSE ${dir})
  file(WRITE ${dir}/traces/v1.csv "0,1,512\n60,2,512\n")
  file(WRITE ${dir}/main.yaml "name: relative paths\nduration: 10m\n"
       "clusters: [{id: c1, ha: {enabled: false}}]\n"
       "hosts: [{id: h1, cluster: c1, cpus: 8, memory_mib: 16384}]\n"
       "vms: [{id: v1, cluster: c1, vcpus: 2, memory_mib: 1024, "
       "workload: {type: trace, path: traces/v1.csv}}]\n")
  play_in(${dir} out code main.yaml)
  if(NOT code EQUAL 0 OR NOT out MATCHES "log_hash=")
    message(FATAL_ERROR "expected main.yaml to play from its own folder, got ${code}:\n${out}")
  endif()
else()
  message(FATAL_ERROR "unknown CASE ${CASE}")
endif()
