% Read a growsim run in MATLAB, or in Octave with the hdf5oct package, using h5read.
%
%   matlab -batch "run_file = 'runs/add_conn_distance.h5'; read_run"
%   octave --eval "pkg load hdf5oct; run_file = 'runs/add_conn_distance.h5'; read_run"
%
% h5read returns arrays with their dimensions reversed (HDF5 is row-major, MATLAB
% column-major): a (k, n_tasks) dataset arrives as n_tasks x k, and W_rec(post, pre)
% needs a transpose.

if ~exist('run_file', 'var')
  run_file = 'runs/add_conn_distance.h5';
end

status = h5readatt(run_file, '/', 'status');
if iscell(status), status = status{1}; end              % variable-length strings may come as a cell
last_step = h5readatt(run_file, '/', 'last_step');
fprintf('%s: %s at step %d\n', run_file, status, last_step);

steps = h5read(run_file, '/series/step');              % k x 1
q = h5read(run_file, '/series/modularity_q');          % k x 1
conn = h5read(run_file, '/series/connections');        % k x 1
perf = h5read(run_file, '/series/perf')';              % k x n_tasks after the transpose
tasks = cellstr(h5read(run_file, '/tasks/names'));    % cell array of task names
for i = 1:numel(steps)
  fprintf('  step %6d: %4d synapses, Q %.3f, mean performance %.3f\n', steps(i), conn(i), q(i), mean(perf(i, :)));
end
[best, at] = max(perf(end, :));
fprintf('  best task at the end: %s (%.2f)\n', tasks{at}, best);

w = h5read(run_file, '/final/w_rec')';                 % N x N, w(post, pre)
fprintf('  final W_rec: %d x %d, %d synapses\n', size(w, 1), size(w, 2), nnz(w));
